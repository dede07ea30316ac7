package dev.cryo.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The key of what an app was started from: its command line (main class, JVM options, arguments),
 * working directory, the JDK that runs it, and the contents of every class path entry and file
 * argument (a SHA-256 digest of each file, remembered by {@link ContentDigests} so that a restore
 * reads none of them). The launcher computes it for the command it is given; an image restores
 * only for the same key. A rebuild that produces the same bytes keeps the key.
 */
public final class BuildKey {
    private static final Set<String> PATH_OPTIONS =
            Set.of("-cp", "-classpath", "--class-path", "-jar", "--module-path", "-p");
    private static final int MAX_FILES_PER_DIRECTORY = 50_000;

    private BuildKey() {}

    /** The key of {@code command} run in {@code cwd}. */
    public static String of(List<String> command, Path cwd) {
        MessageDigest sha = sha256();
        update(sha, "cwd", cwd.toAbsolutePath().normalize().toString());
        for (int i = 0; i < command.size(); i++) {
            String arg = command.get(i);
            update(sha, "arg", arg);
            if (i == 0) {
                describeExecutable(sha, arg);
            }
            if (PATH_OPTIONS.contains(arg) && i + 1 < command.size()) {
                for (String entry : command.get(i + 1).split(":")) {
                    describePath(sha, cwd, entry);
                }
            } else if (arg.startsWith("-")) {
                continue;
            } else {
                Path p = cwd.resolve(arg);
                if (Files.isRegularFile(p)) {
                    describePath(sha, cwd, arg);
                }
            }
        }
        ContentDigests.save();
        return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
    }

    private static void describeExecutable(MessageDigest sha, String program) {
        Path exe = resolveOnPath(program);
        if (exe == null) {
            return;
        }
        try {
            Path real = exe.toRealPath();
            update(sha, "exe", real.toString());
            // A JDK update keeps bin/java's path but changes its release file.
            Path release = real.getParent() != null && real.getParent().getParent() != null
                    ? real.getParent().getParent().resolve("release") : null;
            if (release != null && Files.isRegularFile(release)) {
                update(sha, "release", Files.readString(release, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            update(sha, "exe-unreadable", program);
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

    private static void describePath(MessageDigest sha, Path cwd, String entry) {
        if (entry.isEmpty()) {
            return;
        }
        if (entry.endsWith("/*") || entry.equals("*")) {
            Path dir = cwd.resolve(entry.substring(0, entry.length() - 1));
            try (DirectoryStream<Path> jars = Files.newDirectoryStream(dir, "*.{jar,JAR}")) {
                java.util.List<Path> sorted = new java.util.ArrayList<>();
                jars.forEach(sorted::add);
                sorted.sort(null);
                for (Path jar : sorted) {
                    describeFile(sha, jar);
                }
            } catch (IOException e) {
                update(sha, "missing", entry);
            }
            return;
        }
        Path p = cwd.resolve(entry);
        if (Files.isDirectory(p)) {
            try (Stream<Path> files = Files.walk(p)) {
                files.filter(Files::isRegularFile).sorted().limit(MAX_FILES_PER_DIRECTORY)
                        .forEach(f -> describeFile(sha, f));
            } catch (IOException | java.io.UncheckedIOException e) {
                update(sha, "unreadable", entry);
            }
        } else {
            describeFile(sha, p);
        }
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

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
