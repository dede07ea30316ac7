package dev.cryo.internal.launch;

import dev.cryo.internal.ImageStore;
import dev.cryo.internal.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** {@code cryo rm}: removes the images named; exit 1 when one is not there (the others are still removed). */
final class RmVerb implements Verb {
    @Override
    public String name() {
        return "rm";
    }

    @Override
    public String synopsis() {
        return "rm --image DIR [--json] ID...";
    }

    @Override
    public String description() {
        return "removes the images ID... (an id, img-ID, or a prefix only one id has) from DIR;\n"
                + "exit 1 when one is not there or cannot be removed.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.IMAGE, LaunchArguments.Flag.JSON, LaunchArguments.Flag.QUIET);
    }

    @Override
    public boolean needsCommand() {
        return false;
    }

    @Override
    public boolean takesOperands() {
        return true;
    }

    @Override
    public boolean needsOperands() {
        return true;
    }

    @Override
    public int run(LaunchArguments args, Console console) {
        ImageStore store = new ImageStore(args.image());
        List<ImageStore.Image> all = store.images();
        List<Map<String, Object>> results = new ArrayList<>();
        int status = 0;
        for (String id : args.operands()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", id);
            Optional<ImageStore.Image> image = ImageStore.named(all, id);
            if (image.isEmpty()) {
                r.put("removed", false);
                r.put("error", "no image " + id + " in " + args.image());
                status = 1;
            } else {
                r.put("id", image.get().id());
                long bytes = ImageStore.directoryBytes(image.get().dir());
                try {
                    store.remove(image.get());
                    r.put("removed", true);
                    r.put("bytes", bytes);
                } catch (IOException e) {
                    r.put("removed", false);
                    r.put("error", "cannot remove " + image.get().dir() + ": " + e);
                    status = 1;
                }
            }
            results.add(r);
        }
        if (args.json()) {
            console.out.println(Json.write(results, true));
        } else {
            for (Map<String, Object> r : results) {
                if (Boolean.TRUE.equals(r.get("removed"))) {
                    console.say("removed image " + r.get("id") + " (" + InspectVerb.megabytes((Long) r.get("bytes")) + ")");
                } else {
                    console.error(r.get("error").toString());
                }
            }
        }
        return status;
    }
}
