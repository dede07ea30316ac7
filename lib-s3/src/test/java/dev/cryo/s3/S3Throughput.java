package dev.cryo.s3;

import dev.cryo.internal.RemoteImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Publish and fetch throughput against S3Proxy on the local disk (docs/benchmarks.md):
 * {@code java -cp <lib-s3 test class path> dev.cryo.s3.S3Throughput DIR MIB [PARALLEL...]}.
 * One image of one page file of MIB MiB plus small files; each run publishes under a fresh id and fetches on a fresh node.
 */
final class S3Throughput {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int mib = Integer.parseInt(args[1]);
        try (S3Server server = new S3Server(dir.resolve("server"))) {
            for (int a = 2; a < Math.max(3, args.length); a++) {
                String parallel = args.length > 2 ? args[a] : "16";
                String uri = "s3://" + S3Server.BUCKET + "/bench-" + parallel;
                try (S3Images a1 = S3Images.open(uri, dir.resolve("a" + parallel), server.env("CRYO_S3_PART_MB", "16",
                        "CRYO_S3_PARALLEL", parallel)::get)) {
                    Path image = S3ImagesTest.commit(a1, "bench", mib << 20);
                    long t0 = System.nanoTime();
                    RemoteImages.Manifest m = a1.publish(image, "bench-" + parallel);
                    long publish = System.nanoTime() - t0;
                    try (S3Images b = S3Images.open(uri, dir.resolve("b" + parallel), server.env("CRYO_S3_PART_MB", "16",
                            "CRYO_S3_PARALLEL", parallel)::get)) {
                        long t1 = System.nanoTime();
                        b.fetch(b.manifests().get(0));
                        long fetch = System.nanoTime() - t1;
                        long t2 = System.nanoTime();
                        b.fetch(b.manifests().get(0));
                        long cached = System.nanoTime() - t2;
                        System.out.printf(Locale.ROOT,
                                "parallel=%s bytes=%d publishMs=%d publishMBs=%.0f fetchMs=%d fetchMBs=%.0f cachedMs=%d%n",
                                parallel, m.bytes(), publish / 1_000_000, m.bytes() / 1e3 / (publish / 1e6),
                                fetch / 1_000_000, m.bytes() / 1e3 / (fetch / 1e6), cached / 1_000_000);
                    }
                    a1.remove(m.id());
                }
                for (String n : new String[] {"a" + parallel, "b" + parallel}) {
                    dev.cryo.internal.ImageStore.deleteTree(dir.resolve(n));
                }
            }
        } finally {
            dev.cryo.internal.ImageStore.deleteTree(dir);
            Files.deleteIfExists(dir);
        }
    }
}
