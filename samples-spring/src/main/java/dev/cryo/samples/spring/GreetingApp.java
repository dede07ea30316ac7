package dev.cryo.samples.spring;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Resource;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Boot web app checkpointed by Cryo in either of two ways:
 * <ul>
 *   <li>Spring's own CRaC support: {@code -Dspring.context.checkpoint=onRefresh} makes Spring call
 *       {@code org.crac.Core.checkpointRestore()} once its beans exist, before the web server starts;
 *       Cryo serves that call (its {@code javax.crac}). No Cryo call in the app.</li>
 *   <li>{@code --sample.checkpoint=after-warmup}: once the app is ready it answers its own endpoint
 *       {@code sample.warmup} times (default 200), then calls {@link Checkpointer#checkpointNow()}.
 *       Spring's lifecycle, registered with org.crac and so with Cryo, stops the web server (its
 *       listener and connections) before the dump and starts it again after a restore.</li>
 * </ul>
 * {@code GET /hello?name=X} answers {@code hello X from pid=P token=T warmups=N restored=B}: the
 * token is drawn at start-up, so a restored copy answers with the original's.
 */
@SpringBootApplication
@RestController
public class GreetingApp {
    private final String token = UUID.randomUUID().toString();
    private final AtomicLong served = new AtomicLong();
    private volatile long warmups;
    private volatile boolean restored;

    public GreetingApp() {
        // A resource of the app's own: Cryo calls it around every checkpoint, whoever asked for it.
        Checkpointer.register(new Resource() {
            @Override
            public void beforeCheckpoint() {}

            @Override
            public void afterRestore(CheckpointOutcome outcome) {
                restored = outcome.isRestored();
            }
        });
    }

    public static void main(String[] args) {
        SpringApplication.run(GreetingApp.class, args);
    }

    @GetMapping("/hello")
    public String hello(@RequestParam(name = "name", defaultValue = "world") String name) {
        served.incrementAndGet();
        return "hello " + name + " from pid=" + ProcessHandle.current().pid() + " token=" + token + " warmups=" + warmups
                + " restored=" + restored;
    }

    @EventListener
    public void ready(ApplicationReadyEvent event) {
        var env = event.getApplicationContext().getEnvironment();
        int port = ((WebServerApplicationContext) event.getApplicationContext()).getWebServer().getPort();
        System.out.println("READY port=" + port + " pid=" + ProcessHandle.current().pid() + " token=" + token);
        if (!"after-warmup".equals(env.getProperty("sample.checkpoint"))) {
            return;
        }
        int rounds = env.getProperty("sample.warmup", Integer.class, 200);
        Thread t = new Thread(() -> warmUpAndCheckpoint(port, rounds), "warm-up-then-checkpoint");
        t.start();
    }

    private void warmUpAndCheckpoint(int port, int rounds) {
        try {
            for (int i = 0; i < rounds; i++) {
                get(port, "/hello?name=warmup");
            }
            warmups = served.get();
            CheckpointOutcome outcome = Checkpointer.checkpointNow();
            System.out.println("CHECKPOINT " + outcome.kind() + " warmups=" + warmups);
        } catch (Exception e) {
            System.out.println("CHECKPOINT FAILED " + e);
            e.printStackTrace();
        }
    }

    /**
     * One HTTP/1.1 GET with {@code Connection: close}: no pooled connection is left open (an
     * established connection would be a socket CRIU refuses to dump).
     */
    static String get(int port, String path) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            int body = response.indexOf("\r\n\r\n");
            if (!response.startsWith("HTTP/1.1 200") || body < 0) {
                throw new IOException("GET " + path + " answered: " + response);
            }
            return response.substring(body + 4);
        }
    }
}
