package dev.cryo.samples;

import dev.cryo.CheckpointOutcome;
import dev.cryo.Checkpointer;
import dev.cryo.Resource;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A service with the kind of start-up Cryo is for: it builds a search index over a generated
 * corpus (seconds of work, hundreds of MB of live heap, a warmed JIT), checkpoints itself, then
 * answers queries. A restored copy skips the whole build and answers at once, from the same index.
 *
 * <p>Prints {@code CRYO-TIME first_answer_epoch_ms=...} when it answers its first query, and
 * {@code INDEX digest=...} before and after the checkpoint, so that a script can compare.
 * Arguments: {@code --documents N} (default 400000), {@code --no-checkpoint}, {@code --queries N}.
 */
public final class SlowStartService {
    private final Map<String, int[]> postings = new HashMap<>();
    private final List<String> documents = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        int docs = 400_000;
        int queries = 3;
        boolean checkpoint = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--documents" -> docs = Integer.parseInt(args[++i]);
                case "--queries" -> queries = Integer.parseInt(args[++i]);
                case "--no-checkpoint" -> checkpoint = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        long t0 = System.nanoTime();
        SlowStartService service = new SlowStartService();
        service.build(docs);
        String digest = service.digest();
        System.out.printf("INDEX digest=%s documents=%d terms=%d built_ms=%d%n", digest, docs,
                service.postings.size(), (System.nanoTime() - t0) / 1_000_000);

        // A session id must differ in every restored copy: make it in afterRestore, not before.
        String[] session = {newSession()};
        Checkpointer.register(new Resource() {
            @Override
            public void beforeCheckpoint() {
                System.out.println("resource: closing connections before the snapshot");
            }

            @Override
            public void afterRestore(CheckpointOutcome outcome) {
                if (outcome.isRestored()) {
                    session[0] = newSession();
                }
                System.out.println("resource: reopened after " + outcome.kind());
            }
        });
        if (checkpoint) {
            CheckpointOutcome outcome = Checkpointer.checkpointNow();
            System.out.println("checkpointNow: " + outcome);
        }
        for (int q = 0; q < queries; q++) {
            String term = "w" + (q * 7919 % 5000);
            int hits = service.query(term);
            if (q == 0) {
                System.out.println("CRYO-TIME first_answer_epoch_ms=" + System.currentTimeMillis());
            }
            System.out.printf("query %s -> %d documents (session %s)%n", term, hits, session[0]);
        }
        System.out.println("INDEX-AFTER digest=" + service.digest());
    }

    private static String newSession() {
        return Long.toHexString(new Random().nextLong());
    }

    private void build(int count) {
        Random random = new Random(42);
        Map<String, List<Integer>> lists = new HashMap<>();
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < count; d++) {
            sb.setLength(0);
            for (int w = 0; w < 12; w++) {
                int term = (int) Math.abs(random.nextGaussian() * 1200) % 5000;
                sb.append('w').append(term).append(' ');
            }
            String text = sb.toString();
            documents.add(text);
            for (String word : text.split(" ")) {
                lists.computeIfAbsent(word, k -> new ArrayList<>()).add(d);
            }
        }
        lists.forEach((k, v) -> postings.put(k, v.stream().mapToInt(Integer::intValue).distinct().toArray()));
    }

    private int query(String term) {
        int[] docs = postings.get(term);
        return docs == null ? 0 : docs.length;
    }

    private String digest() throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        postings.keySet().stream().sorted().forEach(k -> {
            sha.update(k.getBytes(StandardCharsets.UTF_8));
            for (int d : postings.get(k)) {
                sha.update((byte) d);
                sha.update((byte) (d >>> 8));
            }
        });
        sha.update(documents.get(documents.size() - 1).getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    }
}
