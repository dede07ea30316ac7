package dev.cryo.internal.launch;

import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code cryo prune}: removes the images no start will choose: damaged ones, and all but the newest
 * {@code --keep N} of each build and runtime (a newer image of the same build and runtime always
 * wins); then, with {@code --max-bytes}, the oldest of the rest until they fit in that size.
 * Unfinished images of checkpoints that died go too. Exit 0 when done (also when nothing had to
 * go), 1 when an image could not be removed.
 */
final class PruneVerb implements Verb {
    @Override
    public String name() {
        return "prune";
    }

    @Override
    public String synopsis() {
        return "prune --image DIR [--keep N] [--max-bytes SIZE] [--json]";
    }

    @Override
    public String description() {
        return "removes damaged images and all but the newest N (default 1) per build and runtime,\n"
                + "then the oldest until the rest take at most SIZE; exit 1 when one cannot be removed.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.IMAGE, LaunchArguments.Flag.KEEP, LaunchArguments.Flag.MAX_BYTES,
                LaunchArguments.Flag.JSON, LaunchArguments.Flag.QUIET);
    }

    @Override
    public boolean needsCommand() {
        return false;
    }

    /** One image to remove and why. */
    record Removal(ImageStore.Image image, long bytes, String why) {}

    /**
     * Which of {@code images} (newest first, as {@link ImageStore#images()} lists them) go, in that
     * order: damaged, beyond the newest {@code keep} of their build and runtime, then the oldest
     * while the rest take more than {@code maxBytes} (none when it is negative).
     */
    static List<Removal> plan(List<ImageStore.Image> images, int keep, long maxBytes) {
        List<Removal> out = new ArrayList<>();
        List<ImageStore.Image> kept = new ArrayList<>();
        Map<List<Object>, Integer> seen = new HashMap<>();
        for (ImageStore.Image image : images) {
            ImageMetadata m = image.metadata();
            if (image.defect().isPresent()) {
                out.add(new Removal(image, ImageStore.directoryBytes(image.dir()), "damaged: " + image.defect().get()));
                continue;
            }
            int n = seen.merge(List.of(m.buildKey(), m.runtime().map(Object::toString).orElse("")), 1, Integer::sum);
            if (n > keep) {
                out.add(new Removal(image, ImageStore.directoryBytes(image.dir()), "older than the newest " + keep
                        + " of its build and runtime"));
            } else {
                kept.add(image);
            }
        }
        if (maxBytes >= 0) {
            long total = kept.stream().mapToLong(i -> ImageStore.directoryBytes(i.dir())).sum();
            for (int i = kept.size() - 1; i >= 0 && total > maxBytes; i--) {
                long bytes = ImageStore.directoryBytes(kept.get(i).dir());
                out.add(new Removal(kept.get(i), bytes, "the oldest while all took more than " + maxBytes + " bytes"));
                total -= bytes;
            }
        }
        return out;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        ImageStore store = new ImageStore(args.image());
        int stale = store.removeStale();
        List<Map<String, Object>> results = new ArrayList<>();
        int status = 0;
        long freed = 0;
        for (Removal r : plan(store.images(), args.keep(), args.maxBytes())) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("id", r.image().id());
            x.put("bytes", r.bytes());
            x.put("why", r.why());
            try {
                store.remove(r.image());
                x.put("removed", true);
                freed += r.bytes();
                console.say("removed image " + r.image().id() + " (" + InspectVerb.megabytes(r.bytes()) + "): "
                        + r.why());
            } catch (IOException e) {
                x.put("removed", false);
                x.put("error", e.toString());
                console.error("cannot remove image " + r.image().id() + ": " + e);
                status = 1;
            }
            results.add(x);
        }
        List<ImageStore.Image> left = store.images();
        if (args.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("removed", results);
            j.put("freedBytes", freed);
            j.put("unfinishedRemoved", stale);
            j.put("kept", left.stream().map(ImageStore.Image::id).toList());
            j.put("keptBytes", left.stream().mapToLong(i -> ImageStore.directoryBytes(i.dir())).sum());
            console.out.println(Json.write(j, true));
        } else {
            console.say("kept " + left.size() + " image(s), freed " + InspectVerb.megabytes(freed)
                    + (stale > 0 ? "; removed " + stale + " unfinished" : ""));
        }
        return status;
    }
}
