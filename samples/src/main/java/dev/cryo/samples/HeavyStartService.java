package dev.cryo.samples;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Resource;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntUnaryOperator;
import javax.tools.DiagnosticCollector;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * A service with the start-up of a heavy framework on a plain JVM: it generates a few hundred
 * "components" as Java sources, compiles them in memory with the JDK's own compiler (javax.tools:
 * thousands of compiler classes loaded and run), loads the compiled classes through its own class
 * loader, wires them into a registry and runs a warm-up loop over them so that the JIT compiles the
 * hot paths. Only then is it ready: it checkpoints itself, then answers requests. A restored copy
 * skips all of it and answers at once, from the same registry and with the same compiled code.
 *
 * <p>Prints {@code CRYO-TIME first_answer_epoch_ms=...} when it answers its first request, and
 * {@code REGISTRY digest=...} before the checkpoint and {@code REGISTRY-AFTER digest=...} at the
 * end, so that a script can compare. Arguments: {@code --components N} (default 300),
 * {@code --warmup N} (warm-up rounds, default 2000), {@code --no-checkpoint}, {@code --requests N}.
 */
public final class HeavyStartService {
    private final Map<String, IntUnaryOperator> registry = new TreeMap<>();

    public static void main(String[] args) throws Exception {
        int components = 300;
        int warmup = 2000;
        int requests = 3;
        boolean checkpoint = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--components" -> components = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--no-checkpoint" -> checkpoint = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        long t0 = System.nanoTime();
        HeavyStartService service = new HeavyStartService();
        Map<String, byte[]> classes = compile(sources(components));
        long compiled = System.nanoTime();
        service.load(classes);
        long checksum = service.warmUp(warmup);
        String digest = service.digest();
        System.out.printf("REGISTRY digest=%s components=%d class_files=%d loaded_classes=%d compile_ms=%d"
                        + " built_ms=%d checksum=%d%n", digest, service.registry.size(), classes.size(),
                ManagementFactory.getClassLoadingMXBean().getLoadedClassCount(),
                (compiled - t0) / 1_000_000, (System.nanoTime() - t0) / 1_000_000, checksum);

        Checkpointer.register(new Resource() {
            @Override
            public void beforeCheckpoint() {
                System.out.println("resource: closing the request listener before the snapshot");
            }

            @Override
            public void afterRestore(CheckpointOutcome outcome) {
                System.out.println("resource: request listener reopened after " + outcome.kind());
            }
        });
        if (checkpoint) {
            CheckpointOutcome outcome = Checkpointer.checkpointNow();
            System.out.println("checkpointNow: " + outcome);
        }
        List<String> names = new ArrayList<>(service.registry.keySet());
        for (int r = 0; r < requests; r++) {
            String name = names.get(r * 7919 % names.size());
            int answer = service.registry.get(name).applyAsInt(r + 1);
            if (r == 0) {
                System.out.println("CRYO-TIME first_answer_epoch_ms=" + System.currentTimeMillis());
            }
            System.out.printf("request %s(%d) -> %d%n", name, r + 1, answer);
        }
        System.out.println("REGISTRY-AFTER digest=" + service.digest());
    }

    /** The generated sources: each component is a class with a nested record, enum and lambdas. */
    private static Map<String, String> sources(int count) {
        Map<String, String> sources = new TreeMap<>();
        for (int i = 0; i < count; i++) {
            String pkg = "gen.p" + (i % 10);
            String name = "Component" + i;
            int next = (i + 1) % count;
            String src = """
                    package %1$s;

                    import java.util.*;
                    import java.util.function.*;
                    import java.util.stream.*;

                    public final class %2$s implements IntUnaryOperator {
                        record Settings(int seed, String label, List<Integer> weights) {
                            Settings {
                                weights = List.copyOf(weights);
                            }
                        }

                        enum Mode { FAST, SAFE, BALANCED;
                            int apply(int x) {
                                return switch (this) {
                                    case FAST -> x * %3$d + 1;
                                    case SAFE -> Math.floorMod(x, 9973) + %3$d;
                                    case BALANCED -> (x ^ (x >>> 3)) + %3$d;
                                };
                            }
                        }

                        sealed interface Step permits Add, Mul {}
                        record Add(int n) implements Step {}
                        record Mul(int n) implements Step {}

                        private final Settings settings = new Settings(%3$d, "component-%3$d",
                                IntStream.rangeClosed(1, 8).map(k -> k * %3$d %% 17).boxed().toList());
                        private final Map<String, Integer> cache = new HashMap<>();
                        private final List<Step> steps = List.of(new Add(%3$d), new Mul(3), new Add(7));

                        @Override
                        public int applyAsInt(int x) {
                            Mode mode = Mode.values()[Math.floorMod(x + settings.seed(), 3)];
                            int v = mode.apply(x);
                            for (Step s : steps) {
                                v = switch (s) {
                                    case Add a -> v + a.n();
                                    case Mul m -> v * m.n();
                                };
                            }
                            int w = settings.weights().stream().mapToInt(Integer::intValue).reduce(v, (a, b) -> a * 31 + b);
                            String key = settings.label() + ':' + (x & 63);
                            int cached = cache.computeIfAbsent(key, k -> k.hashCode() & 0xffff);
                            return w + cached + (x < 0 ? 0 : %4$s.class.getSimpleName().length());
                        }

                        @Override
                        public String toString() {
                            return String.format("%%s[%%d, %%s]", settings.label(), steps.size(), Arrays.toString(Mode.values()));
                        }
                    }
                    """.formatted(pkg, name, i, "gen.p" + (next % 10) + ".Component" + next);
            sources.put(pkg + "." + name, src);
        }
        return sources;
    }

    /** Compiles {@code sources} (class name to source) in memory; returns class name to bytes. */
    private static Map<String, byte[]> compile(Map<String, String> sources) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no system Java compiler: run on a JDK, not a JRE");
        }
        Map<String, ByteArrayOutputStream> out = new HashMap<>();
        List<JavaFileObject> units = new ArrayList<>();
        sources.forEach((name, src) -> units.add(new SimpleJavaFileObject(
                URI.create("string:///" + name.replace('.', '/') + ".java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return src;
            }
        }));
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StandardJavaFileManager standard = javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8);
        JavaFileManager files = new ForwardingJavaFileManager<>(standard) {
            @Override
            public JavaFileObject getJavaFileForOutput(Location location, String className,
                    JavaFileObject.Kind kind, FileObject sibling) {
                return new SimpleJavaFileObject(URI.create("mem:///" + className.replace('.', '/') + ".class"), kind) {
                    @Override
                    public OutputStream openOutputStream() {
                        return out.computeIfAbsent(className, k -> new ByteArrayOutputStream());
                    }
                };
            }
        };
        boolean ok = javac.getTask(null, files, diagnostics, List.of("-proc:none", "-g:none"), null, units).call();
        if (!ok) {
            throw new IllegalStateException("generated sources did not compile: " + diagnostics.getDiagnostics());
        }
        Map<String, byte[]> classes = new TreeMap<>();
        out.forEach((name, bytes) -> classes.put(name, bytes.toByteArray()));
        return classes;
    }

    /** Defines every compiled class, initializes it, and registers each component. */
    private void load(Map<String, byte[]> classes) throws ReflectiveOperationException {
        ClassLoader loader = new ClassLoader(HeavyStartService.class.getClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                byte[] bytes = classes.get(name);
                if (bytes == null) {
                    throw new ClassNotFoundException(name);
                }
                return defineClass(name, bytes, 0, bytes.length);
            }
        };
        for (String name : classes.keySet()) {
            Class<?> c = Class.forName(name, true, loader);
            if (!name.contains("$")) {
                registry.put(name, (IntUnaryOperator) c.getDeclaredConstructor().newInstance());
            }
        }
    }

    /** Calls every component many times over, so that the JIT compiles them. */
    private long warmUp(int rounds) {
        long sum = 0;
        List<IntUnaryOperator> all = new ArrayList<>(registry.values());
        for (int r = 0; r < rounds; r++) {
            for (IntUnaryOperator op : all) {
                sum += op.applyAsInt(r);
            }
        }
        return sum;
    }

    private String digest() throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (var e : registry.entrySet()) {
            sha.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            sha.update(e.getValue().toString().getBytes(StandardCharsets.UTF_8));
            int v = e.getValue().applyAsInt(12345);
            sha.update(new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)});
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    }
}
