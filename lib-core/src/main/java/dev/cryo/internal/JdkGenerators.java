package dev.cryo.internal;

import java.lang.reflect.Field;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The JDK's own random generators, whose state every copy restored from one image shares:
 * {@link ThreadLocalRandom} (its seeder and the seeds each thread holds), the generators behind
 * {@link Math#random()} and {@link StrictMath#random()}, and the seed source of
 * {@code new SplittableRandom()}. Their fields are private to java.base, so reseeding them needs
 * their packages opened to Cryo; {@code bin/cryo run} opens them in the app it starts
 * ({@link #javaOptions}).
 */
public final class JdkGenerators {
    /** The packages of java.base that hold those generators. */
    static final List<String> PACKAGES = List.of("java.lang", "java.util", "java.util.concurrent");
    private static final Module CRYO = JdkGenerators.class.getModule();

    // Resolved once, when the class initializes (prepare(), before the checkpoint): a restored
    // copy only writes the new seeds. Which packages are open is fixed when the JVM starts.
    private static final List<Generator> GENERATORS = List.of(
            generator("ThreadLocalRandom", List.of("java.util.concurrent", "java.lang"),
                    JdkGenerators::threadLocalRandom),
            generator("Math.random()", List.of("java.lang"),
                    () -> random("java.lang.Math$RandomNumberGeneratorHolder")),
            generator("StrictMath.random()", List.of("java.lang"),
                    () -> random("java.lang.StrictMath$RandomNumberGeneratorHolder")),
            generator("new SplittableRandom()", List.of("java.util"), () -> {
                AtomicLong defaultGen = (AtomicLong) staticField(SplittableRandom.class, "defaultGen");
                return fresh -> defaultGen.set(fresh.nextLong());
            }));

    private JdkGenerators() {}

    /**
     * What {@link #reseed} left as it was.
     *
     * @param generators the generators not reseeded, each named as an app uses it
     * @param options the java options that would let Cryo reseed them; empty when none would
     */
    public record NotReseeded(List<String> generators, List<String> options) {
        /** @return whether every generator was reseeded */
        public boolean isEmpty() {
            return generators.isEmpty();
        }
    }

    /** Looks the generators' fields up now, before the checkpoint, so that a restored copy spends no time on it. */
    public static void prepare() {
        // The class's initialization does it.
    }

    /**
     * Reseeds every generator whose package is open to Cryo from {@code fresh}.
     *
     * @param fresh the source of the new seeds (the OS's entropy)
     * @return the generators left as they were, and the options that would open them
     */
    public static NotReseeded reseed(SecureRandom fresh) {
        List<String> left = new ArrayList<>();
        Set<String> closed = new TreeSet<>();
        for (Generator g : GENERATORS) {
            if (g.reseed() == null) {
                left.add(g.name() + (g.unavailable() == null ? "" : " (" + g.unavailable() + ")"));
                closed.addAll(g.closed());
                continue;
            }
            try {
                g.reseed().with(fresh);
            } catch (RuntimeException e) {
                left.add(g.name() + " (" + e + ")");
            }
        }
        if (left.isEmpty()) {
            return new NotReseeded(List.of(), List.of());
        }
        String target = CRYO.isNamed() ? CRYO.getName() : "ALL-UNNAMED";
        return new NotReseeded(left, closed.stream().map(p -> "--add-opens java.base/" + p + "=" + target).toList());
    }

    /**
     * The options that open the generators' packages to Cryo, for {@code JDK_JAVA_OPTIONS}: to the
     * class path always, and to the module {@code dev.cryo} too when {@code command} names a module
     * path (a JVM warns about an unknown module in {@code --add-opens}, so not otherwise).
     *
     * @param command the app's command line
     * @return the options, separated by spaces
     */
    public static String javaOptions(List<String> command) {
        boolean modulePath = command.stream().anyMatch(a -> a.equals("-p") || a.equals("--module-path")
                || a.startsWith("--module-path="));
        String target = modulePath ? "ALL-UNNAMED,dev.cryo" : "ALL-UNNAMED";
        return String.join(" ", PACKAGES.stream().map(p -> "--add-opens=java.base/" + p + "=" + target).toList());
    }

    private static Generator generator(String name, List<String> packages, Resolve resolve) {
        Module base = Object.class.getModule();
        List<String> closed = packages.stream().filter(p -> !base.isOpen(p, CRYO)).toList();
        if (!closed.isEmpty()) {
            return new Generator(name, null, closed, null);
        }
        try {
            return new Generator(name, resolve.reseed(), List.of(), null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new Generator(name, null, List.of(), e.toString()); // a JDK whose fields differ: named, never fatal
        }
    }

    /**
     * A fresh seeder, so that each thread's next {@code ThreadLocalRandom.current()} initializes it
     * again (its probe is reset to 0) from seeds no other copy has; a fresh seed too, for a thread
     * that keeps using the instance it got before. Virtual threads cannot be listed: one that lived
     * across the checkpoint keeps its seed. A thread drawing at this very moment may keep its old
     * seed until its next {@code current()}.
     */
    private static Reseed threadLocalRandom() throws ReflectiveOperationException {
        AtomicLong seeder = (AtomicLong) staticField(ThreadLocalRandom.class, "seeder");
        Field seed = accessible(Thread.class, "threadLocalRandomSeed");
        Field probe = accessible(Thread.class, "threadLocalRandomProbe");
        Field secondary = accessible(Thread.class, "threadLocalRandomSecondarySeed");
        // This thread's own values written back, so that the field accessors (about 10 ms to make)
        // are made now, before the checkpoint, not in every restored copy. No other thread writes them.
        Thread self = Thread.currentThread();
        seed.setLong(self, seed.getLong(self));
        probe.setInt(self, probe.getInt(self));
        secondary.setInt(self, secondary.getInt(self));
        return fresh -> {
            seeder.set(fresh.nextLong());
            try {
                for (Thread t : platformThreads()) {
                    seed.setLong(t, fresh.nextLong());
                    secondary.setInt(t, 0);
                    probe.setInt(t, 0);
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e); // accessible since prepare()
            }
        };
    }

    /** The {@code java.util.Random} that a holder class of {@code Math.random()} keeps, reseeded. */
    private static Reseed random(String holder) throws ReflectiveOperationException {
        Random random = (Random) staticField(Class.forName(holder), "randomNumberGenerator");
        return fresh -> random.setSeed(fresh.nextLong());
    }

    private static List<Thread> platformThreads() {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 64];
        int n = root.enumerate(threads, true);
        return List.of(Arrays.copyOf(threads, n));
    }

    private static Object staticField(Class<?> type, String name) throws ReflectiveOperationException {
        return accessible(type, name).get(null);
    }

    private static Field accessible(Class<?> type, String name) throws NoSuchFieldException {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    /**
     * One generator: how to reseed it, or why not (the packages not open to Cryo, or what failed).
     */
    private record Generator(String name, Reseed reseed, List<String> closed, String unavailable) {}

    @FunctionalInterface
    private interface Reseed {
        void with(SecureRandom fresh);
    }

    @FunctionalInterface
    private interface Resolve {
        Reseed reseed() throws ReflectiveOperationException;
    }
}
