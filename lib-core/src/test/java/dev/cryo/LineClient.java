package dev.cryo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** The tests' side of {@code dev.cryo.testapp.ServerApp}'s line protocol, on 127.0.0.1. */
final class LineClient {
    private LineClient() {}

    /** A TCP port free on 127.0.0.1 right now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Sends one line to 127.0.0.1:{@code port} and returns the answer line. */
    static String ask(int port, String line) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))) {
            s.setSoTimeout(30_000);
            out.println(line);
            return in.readLine();
        }
    }
}
