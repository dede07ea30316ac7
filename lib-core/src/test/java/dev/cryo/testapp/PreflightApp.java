package dev.cryo.testapp;

import dev.cryo.Preflight;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Holds one of each thing the pre-flight check looks for, then prints what it found. */
public final class PreflightApp {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        if (args.length > 1 && args[1].equals("--checkpoint")) {
            checkpointWithFindings(dir);
            return;
        }
        Path fifo = dir.resolve("fifo");
        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() != 0) {
            throw new IllegalStateException("mkfifo failed");
        }
        // Blocks in FileInputStream.open0 (native) until a writer opens the FIFO.
        Thread reader = new Thread(() -> {
            try (FileInputStream in = new FileInputStream(fifo.toFile())) {
                in.readAllBytes();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "fifo-reader");
        reader.start();
        Path changed = dir.resolve("changed.txt");
        Path replaced = dir.resolve("config.txt");
        Files.writeString(replaced, "old config");
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket accepted = server.accept();
                FileOutputStream log = new FileOutputStream(dir.resolve("app.log").toFile(), true);
                FileOutputStream gone = new FileOutputStream(dir.resolve("gone.tmp").toFile());
                FileInputStream changedIn = new FileInputStream(Files.writeString(changed, "v1").toFile());
                FileInputStream config = new FileInputStream(replaced.toFile())) {
            Files.delete(dir.resolve("gone.tmp"));
            Files.writeString(changed, " v2", StandardOpenOption.APPEND); // changed while open
            Files.move(Files.writeString(dir.resolve("config.new"), "new config"), replaced,
                    StandardCopyOption.ATOMIC_MOVE); // replaced: the open one is deleted
            Process child = new ProcessBuilder("sleep", "30").start();
            while (reader.getState() != Thread.State.RUNNABLE || reader.getStackTrace().length == 0) {
                Thread.sleep(10);
            }
            System.out.println("PORT " + server.getLocalPort());
            for (Preflight.Finding f : Preflight.check()) {
                System.out.println("FINDING " + f);
            }
            child.destroyForcibly().waitFor();
        }
        new FileOutputStream(fifo.toFile()).close(); // the reader opens, reads nothing, ends
        reader.join();
    }

    /**
     * Checkpoints while holding what a dump survives but the app should know of: a log open for
     * appending and a thread blocked in a native open of a FIFO. The restored copy unblocks it.
     */
    private static void checkpointWithFindings(Path dir) throws Exception {
        Path fifo = dir.resolve("fifo");
        if (!Files.exists(fifo) && new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() != 0) {
            throw new IllegalStateException("mkfifo failed");
        }
        Thread reader = new Thread(() -> {
            try (FileInputStream in = new FileInputStream(fifo.toFile())) {
                System.out.println("FIFO read " + in.readAllBytes().length + " bytes");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "fifo-reader");
        reader.start();
        while (reader.getState() != Thread.State.RUNNABLE || reader.getStackTrace().length == 0) {
            Thread.sleep(10);
        }
        try (FileOutputStream log = new FileOutputStream(dir.resolve("app.log").toFile(), true)) {
            log.write("before\n".getBytes());
            dev.cryo.CheckpointOutcome outcome = dev.cryo.Checkpointer.checkpointNow(
                    dev.cryo.CheckpointOptions.builder().exitAfterCheckpoint(true).build());
            System.out.println("OUTCOME " + outcome.kind());
            log.write("after\n".getBytes());
        }
        try (FileOutputStream w = new FileOutputStream(fifo.toFile())) {
            w.write(new byte[3]);
        }
        reader.join();
    }
}
