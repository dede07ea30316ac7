package dev.cryo.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The key of what an app was started from: its command line (main class, JVM options, arguments),
 * working directory, the JDK that runs it, and the contents of every class path entry and file
 * argument (a SHA-256 digest of each file, remembered by {@link ContentDigests} so that a restore
 * reads none of them). The launcher computes it for the command it is given; an image restores
 * only for the same key. A rebuild that produces the same bytes keeps the key.
 *
 * <p>In a class path directory the key covers what a build puts there, {@code .class} files and
 * resources, and skips what a running app writes there, by this rule:
 * <ul>
 *   <li>an image store: a directory below the class path directory that holds an image (a
 *       directory with {@value ImageMetadata#FILE_NAME}) or an entry named {@code .tmp-*},
 *       {@code .checkpointing-*}, {@code .restore-*} or {@code last-failed-*}; and those entries
 *       themselves wherever they are (also when the class path directory is itself the store);</li>
 *   <li>log and run files: names ending in {@code .log}, {@code .pid}, {@code .lock}, {@code .tmp},
 *       {@code .swp}, {@code .hprof} or {@code .jfr}, and rotated logs ({@code *.log.*}).</li>
 * </ul>
 * Any other file the app writes below a class path directory is part of the build: keep data
 * elsewhere. Jars count by their whole contents.
 *
 * <p>The key is made of parts ({@link Parts}: the JDK, the working directory, the arguments, one
 * digest per class path entry and file argument), recorded in the image as {@code build.*}, so
 * that {@link #misfit} can say which part differs when an image is of another build.
 */
public final class BuildKey {
    private static final String JDK = "jdk";
    private static final String CWD = "cwd";
    private static final String ARGS = "args";
    private static final String ENTRY = "entry ";
    private static final Set<String> PATH_OPTIONS =
            Set.of("-cp", "-classpath", "--class-path", "-jar", "--module-path", "-p");
    private static final List<String> STORE_ENTRY_PREFIXES =
            List.of(ImageStore.TEMP_PREFIX, ImageStore.CLAIM_PREFIX, ".restore-", "last-failed-");
    private static final List<String> RUN_FILE_SUFFIXES =
            List.of(".log", ".pid", ".lock", ".tmp", ".swp", ".hprof", ".jfr");
    private static final int MAX_FILES_PER_DIRECTORY = 50_000;

    private BuildKey() {}

    /**
     * A build key and what it was made of, in order: {@code jdk}, {@code cwd}, {@code args}, then
     * {@code entry <absolute path>} for each class path entry and file argument.
     */
    public record Parts(String key, Map<String, String> parts) {
        public Parts {
            parts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parts));
        }
    }

    /** The key of {@code command} run in {@code cwd}. */
    public static String of(List<String> command, Path cwd) {
        return parts(command, cwd).key();
    }

    /** The key of {@code command} run in {@code cwd}, with its parts. */
    public static Parts parts(List<String> command, Path cwd) {
        Map<String, String> parts = new LinkedHashMap<>();
        parts.put(JDK, command.isEmpty() ? "?" : describeExecutable(command.get(0)));
        parts.put(CWD, cwd.toAbsolutePath().normalize().toString());
        MessageDigest args = sha256();
        command.forEach(a -> update(args, "arg", a));
        parts.put(ARGS, hex(args));
        for (int i = 0; i < command.size(); i++) {
            String arg = command.get(i);
            if (PATH_OPTIONS.contains(arg) && i + 1 < command.size()) {
                for (String entry : command.get(i + 1).split(":")) {
                    describePath(parts, cwd, entry);
                }
                i++;
            } else if (i > 0 && !arg.startsWith("-") && Files.isRegularFile(cwd.resolve(arg))) {
                describePath(parts, cwd, arg);
            }
        }
        ContentDigests.save();
        MessageDigest sha = sha256();
        parts.forEach((name, value) -> update(sha, name, value));
        return new Parts(hex(sha), java.util.Collections.unmodifiableMap(parts));
    }

    /**
     * Which part of the build differs between an image made from {@code then} and {@code here}, in
     * words that follow "was made from another build: "; empty when the keys are equal.
     */
    public static Optional<String> misfit(Parts then, Parts here) {
        if (here.key().equals(then.key())) {
            return Optional.empty();
        }
        if (then.parts().isEmpty()) {
            return Optional.of("the class path, JDK or arguments differ (the image does not say which)");
        }
        return Optional.of(differences(then.parts(), here));
    }

    private static String differences(Map<String, String> then, Parts here) {
        List<String> differences = new ArrayList<>();
        if (!here.parts().get(JDK).equals(then.get(JDK))) {
            differences.add("another JDK (then " + then.get(JDK) + ", now " + here.parts().get(JDK) + ")");
        }
        if (!here.parts().get(CWD).equals(then.get(CWD))) {
            differences.add("another working directory (then " + then.get(CWD) + ")");
        }
        if (!here.parts().get(ARGS).equals(then.get(ARGS))) {
            differences.add("other command line arguments");
        }
        here.parts().forEach((name, value) -> {
            if (name.startsWith(ENTRY)) {
                String was = then.get(name);
                String path = name.substring(ENTRY.length());
                if (was == null) {
                    differences.add("class path entry " + path + " is new");
                } else if (!was.equals(value)) {
                    differences.add("class path entry " + path + " changed");
                }
            }
        });
        then.keySet().stream().filter(n -> n.startsWith(ENTRY) && !here.parts().containsKey(n))
                .forEach(n -> differences.add("class path entry " + n.substring(ENTRY.length()) + " is gone"));
        if (differences.isEmpty()) {
            differences.add("its build key differs");
        }
        return String.join("; ", differences);
    }

    private static String describeExecutable(String program) {
        Path exe = resolveOnPath(program);
        if (exe == null) {
            return program;
        }
        try {
            Path real = exe.toRealPath();
            // A JDK update keeps bin/java's path but changes its release file.
            Path release = real.getParent() != null && real.getParent().getParent() != null
                    ? real.getParent().getParent().resolve("release") : null;
            if (release != null && Files.isRegularFile(release)) {
                MessageDigest sha = sha256();
                update(sha, "release", Files.readString(release, StandardCharsets.UTF_8));
                return real + " release " + hex(sha).substring(0, 12);
            }
            return real.toString();
        } catch (IOException e) {
            return program + " (unreadable)";
        }
    }

    /** {@code program} as the shell would find it on PATH, or null. */
    public static Path resolveOnPath(String program) {
        if (program.contains("/")) {
            return Path.of(program);
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static void describePath(Map<String, String> parts, Path cwd, String entry) {
        if (entry.isEmpty()) {
            return;
        }
        MessageDigest sha = sha256();
        String name;
        if (entry.endsWith("/*") || entry.equals("*")) {
            Path dir = cwd.resolve(entry.substring(0, entry.length() - 1)).toAbsolutePath().normalize();
            name = dir + "/*";
            try (DirectoryStream<Path> jars = Files.newDirectoryStream(dir, "*.{jar,JAR}")) {
                List<Path> sorted = new ArrayList<>();
                jars.forEach(sorted::add);
                sorted.sort(null);
                for (Path jar : sorted) {
                    describeFile(sha, jar);
                }
            } catch (IOException e) {
                update(sha, "missing", entry);
            }
        } else {
            Path p = cwd.resolve(entry).toAbsolutePath().normalize();
            name = p.toString();
            if (Files.isDirectory(p)) {
                try {
                    for (Path f : buildFiles(p)) {
                        describeFile(sha, f);
                    }
                } catch (IOException | java.io.UncheckedIOException e) {
                    update(sha, "unreadable", entry);
                }
            } else {
                describeFile(sha, p);
            }
        }
        parts.put(ENTRY + name, hex(sha));
    }

    /** The files of class path directory {@code root} the key covers (see the class comment), sorted. */
    static List<Path> buildFiles(Path root) throws IOException {
        List<Path> files = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                boolean skip = !dir.equals(root) && (isStoreEntry(dir) || isImageStore(dir));
                return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                boolean regular = attrs.isRegularFile() || attrs.isSymbolicLink() && Files.isRegularFile(file);
                if (regular && !isRunFile(file.getFileName().toString()) && !isStoreEntry(file)) {
                    files.add(file);
                }
                return files.size() < MAX_FILES_PER_DIRECTORY ? FileVisitResult.CONTINUE : FileVisitResult.TERMINATE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                throw e;
            }
        });
        files.sort(null);
        return files;
    }

    /** An image, an image being written, or another file a Cryo image store keeps. */
    private static boolean isStoreEntry(Path p) {
        String name = p.getFileName() == null ? "" : p.getFileName().toString();
        return STORE_ENTRY_PREFIXES.stream().anyMatch(name::startsWith)
                || Files.isRegularFile(p.resolve(ImageMetadata.FILE_NAME));
    }

    /** A directory holding an image store's entries. */
    private static boolean isImageStore(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.anyMatch(BuildKey::isStoreEntry);
        }
    }

    /** A file a running app writes: a log (also rotated), a pid or lock file, a heap dump or recording. */
    private static boolean isRunFile(String name) {
        return RUN_FILE_SUFFIXES.stream().anyMatch(name::endsWith) || name.contains(".log.");
    }

    private static void describeFile(MessageDigest sha, Path file) {
        Path abs = file.toAbsolutePath().normalize();
        try {
            update(sha, "file", abs + "|" + ContentDigests.of(abs));
        } catch (IOException e) {
            update(sha, "missing", file.toString());
        }
    }

    private static void update(MessageDigest sha, String tag, String value) {
        sha.update(tag.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(value.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    private static String hex(MessageDigest sha) {
        return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
