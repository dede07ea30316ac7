package dev.cryo.testapp;

import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOptions;
import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Preflight;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A line server on 127.0.0.1:PORT that checkpoints itself with its listener open, and exits
 * after the checkpoint: the restored copy answers on the same port. Each line it prints is a fact
 * the tests read.
 *
 * <p>Arguments: {@code --port N} (required); {@code --fail-first}: first checkpoint while holding an
 * established loopback connection (CRIU refuses it), then close it and checkpoint again;
 * {@code --stay}: keep serving after the checkpoint instead of exiting; {@code --image DIR}. A
 * checkpoint that fails is reported ({@code CHECKPOINT-FAILED}); the server goes on with {@code --stay},
 * else exits with status 3.
 *
 * <p>Protocol: a client sends one line and gets {@code pid=P restored=B echo=LINE}; the line
 * {@code quit} gets {@code bye} and ends the process (status 0).
 */
public final class ServerApp {
    private static volatile boolean restored;

    public static void main(String[] args) throws Exception {
        int port = -1;
        boolean failFirst = false;
        boolean stay = false;
        Path image = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--fail-first" -> failFirst = true;
                case "--stay" -> stay = true;
                case "--image" -> image = Path.of(args[++i]);
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        ServerSocket server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        Thread serving = new Thread(() -> serve(server), "line-server");
        serving.start();
        System.out.println("LISTENING " + port + " pid=" + ProcessHandle.current().pid());
        for (Preflight.Finding f : Preflight.check()) {
            if (f.kind() == Preflight.Kind.TCP_LISTENING) {
                System.out.println("FINDING " + f);
            }
        }
        CheckpointOptions.Builder options = CheckpointOptions.builder().exitAfterCheckpoint(!stay);
        if (image != null) {
            options.imageDirectory(image);
        }
        if (failFirst) {
            try (ServerSocket side = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                    Socket client = new Socket(InetAddress.getLoopbackAddress(), side.getLocalPort());
                    Socket accepted = side.accept()) {
                Checkpointer.checkpointNow(options.build());
                System.out.println("FIRST-CHECKPOINTED (unexpected: CRIU took an established connection)");
            } catch (CheckpointException e) {
                System.out.println("FIRST-FAILED " + e.reason());
                System.out.println("FIRST-MESSAGE " + e.getMessage().replace('\n', ' '));
            }
            System.out.println("ZOMBIES-AFTER-FAILURE " + zombieChildren());
            System.out.println("WATCHERS-AFTER-FAILURE " + dumpWatchers());
        }
        System.out.flush();
        long t0 = System.nanoTime();
        try {
            CheckpointOutcome outcome = Checkpointer.checkpointNow(options.build());
            restored = outcome.isRestored();
            System.out.println("OUTCOME " + outcome.kind() + " pid=" + ProcessHandle.current().pid());
        } catch (CheckpointException e) {
            // The app goes on serving.
            System.out.println("CHECKPOINT-FAILED " + e.reason() + " after_ms=" + (System.nanoTime() - t0) / 1_000_000);
            System.out.println("MESSAGE " + e.getMessage().replace('\n', ' '));
            if (!stay) {
                System.exit(3);
            }
        }
        System.out.println("ZOMBIES " + zombieChildren());
        System.out.println("WATCHERS " + dumpWatchers());
        System.out.flush();
        serving.join(); // ended by a client's "quit"
    }

    private static void serve(ServerSocket server) {
        while (true) {
            try (Socket s = server.accept();
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8)) {
                String line = in.readLine();
                if ("quit".equals(line)) {
                    out.println("bye");
                    System.out.println("QUIT");
                    System.out.flush();
                    System.exit(0);
                }
                out.println("pid=" + ProcessHandle.current().pid() + " restored=" + restored + " echo=" + line);
            } catch (IOException e) {
                System.out.println("SERVE-ERROR " + e);
            }
        }
    }

    /** Live dump watchers of this process (none may outlive a checkpoint). */
    static java.util.List<String> dumpWatchers() throws IOException {
        String mine = "\0cryo-dump-watcher\0" + ProcessHandle.current().pid() + "\0";
        java.util.List<String> found = new java.util.ArrayList<>();
        try (var procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : procs) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    if (new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).contains(mine)
                            && !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                        found.add(p.getFileName().toString());
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        return found;
    }

    /** The pids of this process's children that are zombies (none may be left by a checkpoint). */
    static java.util.List<Integer> zombieChildren() throws IOException {
        java.util.List<Integer> zombies = new java.util.ArrayList<>();
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                for (String pid : Files.readString(task.resolve("children")).trim().split("\\s+")) {
                    if (!pid.isEmpty()) {
                        String stat = Files.readString(Path.of("/proc", pid, "stat"));
                        if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                            zombies.add(Integer.parseInt(pid));
                        }
                    }
                }
            }
        }
        return zombies;
    }
}
