package dev.cryo.internal.launch;

import java.util.Set;

/**
 * One verb of {@code bin/cryo} ({@code run}, {@code list}, {@code inspect}, {@code rm},
 * {@code prune}; later {@code checkpoint}): its name, its help, the flags it takes, and what it does
 * with them once {@link LaunchArguments} has parsed and checked them.
 */
interface Verb {
    /** The word after {@code cryo}. */
    String name();

    /** Its usage line, without the leading {@code cryo}. */
    String synopsis();

    /** What it does, in one or two lines for the help. */
    String description();

    /** The flags it takes. */
    Set<LaunchArguments.Flag> flags();

    /** Whether a command after {@code --} is required (else optional). */
    boolean needsCommand();

    /** Whether it takes plain words before any {@code --} (image IDs, {@code cryo checkpoint PID}). */
    default boolean takesOperands() {
        return false;
    }

    /** Whether at least one such word is required. */
    default boolean needsOperands() {
        return false;
    }

    /** What the words are, for the message when they are missing. */
    default String operandName() {
        return "at least one image ID";
    }

    /** Runs the verb; returns the launcher's exit status. */
    int run(LaunchArguments args, Console console);
}
