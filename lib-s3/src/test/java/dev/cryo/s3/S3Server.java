package dev.cryo.s3;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/** A real S3 server for tests: S3Proxy in this JVM over a directory (a subdirectory is a bucket); stopped and started again on the same port. */
final class S3Server implements AutoCloseable {
    static final String IDENTITY = "cryo-test";
    static final String CREDENTIAL = "cryo-test-secret";
    static final String BUCKET = "fleet";

    private final Path dir;
    private final int port;
    private BlobStoreContext context;
    private S3Proxy proxy;

    S3Server(Path dir) throws Exception {
        this.dir = dir;
        Files.createDirectories(dir.resolve(BUCKET));
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        start();
    }

    void start() throws Exception {
        Properties p = new Properties();
        p.setProperty("jclouds.filesystem.basedir", dir.toString());
        context = ContextBuilder.newBuilder("filesystem").credentials(IDENTITY, CREDENTIAL).overrides(p)
                .build(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, IDENTITY, CREDENTIAL).build();
        proxy.start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                throw new IOException("S3Proxy did not start: " + proxy.getState());
            }
            Thread.sleep(10);
        }
    }

    void stop() throws Exception {
        proxy.stop();
        context.close();
    }

    String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    /** The variables a node of the fleet has: this server, its keys, and {@code more}. */
    Map<String, String> env(String... more) {
        Map<String, String> env = new HashMap<>(Map.of(S3Settings.ENDPOINT, endpoint(), S3Settings.REGION, "us-east-1",
                S3Settings.ACCESS_KEY, IDENTITY, S3Settings.SECRET_KEY, CREDENTIAL, "CRYO_S3_PART_MB", "5"));
        for (int i = 0; i + 1 < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    @Override
    public void close() throws Exception {
        if ("STARTED".equals(proxy.getState())) {
            stop();
        }
    }
}
