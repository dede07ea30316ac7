package dev.cryo.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The app's environment, as the fit rule compares it: a restored process keeps the environment it
 * had at checkpoint, so an image fits only a start whose environment is the same. Kept as
 * variable name to a digest of its value (the first 16 hex digits of its SHA-256): values may be
 * secrets, and the metadata only needs to say which variables differ. (The image itself holds the
 * values, in the process's memory.)
 *
 * <p>Left out: {@link #DEFAULT_IGNORED}, the variables that differ from one start to the next
 * (shell and login session, terminal, systemd's per-unit ones, the host name a container gets) and
 * Cryo's own {@code CRYO_*} (the launcher's hand-off among them), and the names the user lists in
 * {@value LaunchHandoff#ENV_IGNORE}. {@code JDK_JAVA_OPTIONS} counts without the options the
 * launcher appends to it ({@link JdkGenerators#javaOptions}), so that an app started without the
 * launcher and one it started compare as their users set them.
 *
 * <p>Both sides of the rule take the same environment: the launcher its own, which its cold start
 * passes on; the app, at checkpoint and when it decides whether to skip one, the launcher's (handed
 * over in {@link LaunchHandoff}), or its own when no launcher started it.
 *
 * @param digests the variables compared, by name
 * @param ignored the names (or {@code PREFIX*}) left out, which {@link #misfit} leaves out of the image's too
 */
public record EnvironmentDigest(Map<String, String> digests, List<String> ignored) {
    /** Left out always; {@value LaunchHandoff#ENV_IGNORE} adds to them. */
    public static final List<String> DEFAULT_IGNORED = List.of("PWD", "OLDPWD", "SHLVL", "_", "TERM", "COLUMNS",
            "LINES", "HOSTNAME", "SSH_*", "XDG_SESSION_*", "XDG_VTNR", "INVOCATION_ID", "JOURNAL_STREAM", "WINDOWID",
            "TMUX", "TMUX_PANE", "STY", "CRYO_*");
    private static final String JAVA_OPTIONS = "JDK_JAVA_OPTIONS";
    private static final int SHOWN = 8;

    public EnvironmentDigest {
        digests = Collections.unmodifiableMap(new TreeMap<>(digests));
        ignored = List.copyOf(ignored);
    }

    /**
     * The environment of a start of this process's app, with the defaults and this process's
     * {@value LaunchHandoff#ENV_IGNORE} left out: in an app the launcher started, the launcher's
     * (handed over: a start script between them may add variables for the JVM, which the launcher
     * cannot see when it compares), otherwise this process's own.
     */
    public static EnvironmentDigest current() {
        List<String> ignored = new ArrayList<>(DEFAULT_IGNORED);
        ignored.addAll(LaunchHandoff.envIgnore());
        Map<String, String> handed = LaunchHandoff.current().map(LaunchHandoff::environment).orElse(Map.of());
        if (!handed.isEmpty()) {
            Map<String, String> kept = new TreeMap<>(handed);
            kept.keySet().removeIf(n -> covered(n, ignored));
            return new EnvironmentDigest(kept, ignored);
        }
        return of(System.getenv(), ignored);
    }

    /** {@code environment} without the names {@code ignored} covers. */
    public static EnvironmentDigest of(Map<String, String> environment, List<String> ignored) {
        Map<String, String> digests = new TreeMap<>();
        environment.forEach((name, value) -> {
            String counted = name.equals(JAVA_OPTIONS) ? withoutLauncherOptions(value) : value;
            if (counted != null && !covered(name, ignored)) {
                digests.put(name, digest(counted));
            }
        });
        return new EnvironmentDigest(digests, ignored);
    }

    /** Whether {@code name} is one of {@code ignored}: equal, or starting with what precedes a trailing {@code *}. */
    static boolean covered(String name, List<String> ignored) {
        for (String i : ignored) {
            if (i.endsWith("*") ? name.startsWith(i.substring(0, i.length() - 1)) : name.equals(i)) {
                return true;
            }
        }
        return false;
    }

    /** The value without the launcher's options at its end; null when they were all of it. */
    private static String withoutLauncherOptions(String value) {
        for (String added : List.of(JdkGenerators.javaOptions(List.of()), JdkGenerators.javaOptions(List.of("-p")))) {
            if (value.equals(added)) {
                return null;
            }
            if (value.endsWith(" " + added)) {
                return value.substring(0, value.length() - added.length() - 1);
            }
        }
        return value;
    }

    private static String digest(String value) {
        try {
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }

    /**
     * Why an image whose process had the environment {@code recorded} does not fit a start with
     * this one, naming the variables (at most 8: "FOO changed, BAR added, BAZ removed"), or empty
     * when they are the same. This start's ignored names are left out of both.
     */
    public Optional<String> misfit(Map<String, String> recorded) {
        List<String> differences = new ArrayList<>();
        new TreeMap<>(recorded).forEach((name, digest) -> {
            if (!covered(name, ignored)) {
                String now = digests.get(name);
                if (now == null) {
                    differences.add(name + " removed");
                } else if (!now.equals(digest)) {
                    differences.add(name + " changed");
                }
            }
        });
        digests.keySet().stream().filter(n -> !recorded.containsKey(n)).forEach(n -> differences.add(n + " added"));
        if (differences.isEmpty()) {
            return Optional.empty();
        }
        String shown = String.join(", ", differences.subList(0, Math.min(SHOWN, differences.size())));
        return Optional.of(shown + (differences.size() > SHOWN ? " and " + (differences.size() - SHOWN) + " more" : ""));
    }
}
