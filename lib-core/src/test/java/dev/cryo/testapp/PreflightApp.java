package dev.cryo.testapp;

import dev.cryo.Preflight;
import java.io.FileOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

/** Holds one of each thing the pre-flight check looks for, then prints what it found. */
public final class PreflightApp {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket accepted = server.accept();
                FileOutputStream log = new FileOutputStream(dir.resolve("app.log").toFile(), true);
                FileOutputStream gone = new FileOutputStream(dir.resolve("gone.tmp").toFile())) {
            Files.delete(dir.resolve("gone.tmp"));
            Process child = new ProcessBuilder("sleep", "30").start();
            System.out.println("PORT " + server.getLocalPort());
            for (Preflight.Finding f : Preflight.check()) {
                System.out.println("FINDING " + f);
            }
            child.destroyForcibly().waitFor();
        }
    }
}
