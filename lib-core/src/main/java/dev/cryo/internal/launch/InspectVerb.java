package dev.cryo.internal.launch;

import dev.cryo.internal.BuildKey;
import dev.cryo.internal.ImageFit;
import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.Json;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.StepTimings;
import dev.cryo.internal.StoredFiles;
import dev.cryo.internal.cuda.GpuDevice;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code cryo inspect}: what images hold and whether they fit here. Without IDs, every image in
 * the directory; given {@code -- COMMAND}, whether each fits that command (the launcher's own rule,
 * {@link ImageFit}), else whether it fits its own build on this machine (runtime, GPUs, files).
 */
final class InspectVerb implements Verb {
    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String synopsis() {
        return "inspect --image DIR [ID...] [--gpu-map OLD=NEW,...] [--json] [-- COMMAND...]";
    }

    @Override
    public String description() {
        return "shows what images hold (when, command, keys, sizes, GPU state, stored files, step times)\n"
                + "and whether they fit here (given COMMAND: fit that command); exit 1 when an ID is not there.";
    }

    @Override
    public Set<LaunchArguments.Flag> flags() {
        return EnumSet.of(LaunchArguments.Flag.IMAGE, LaunchArguments.Flag.GPU_MAP, LaunchArguments.Flag.JSON);
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
    public int run(LaunchArguments args, Console console) {
        List<ImageStore.Image> all = new ImageStore(args.image()).images();
        List<ImageStore.Image> chosen = new ArrayList<>();
        int status = 0;
        if (args.operands().isEmpty()) {
            chosen.addAll(all);
            if (all.isEmpty()) {
                console.error("no images in " + args.image());
                status = 1;
            }
        }
        for (String id : args.operands()) {
            Optional<ImageStore.Image> image = ImageStore.named(all, id);
            if (image.isPresent()) {
                chosen.add(image.get());
            } else {
                console.error("no image " + id + " in " + args.image());
                status = 1;
            }
        }
        Map<String, String> gpuMap = LaunchHandoff.parseGpuMap(args.gpuMap());
        BuildKey.Parts command = args.command().isEmpty() ? null
                : BuildKey.parts(args.command(), Path.of("").toAbsolutePath());
        List<Map<String, Object>> described = new ArrayList<>();
        for (ImageStore.Image image : chosen) {
            BuildKey.Parts build = command != null || image.metadata() == null ? command : image.metadata().build();
            List<String> startedAs = command != null ? args.command() : build == null ? List.of()
                    : image.metadata().process().command();
            described.add(describe(image, build == null ? null : ImageFit.here(build, gpuMap, startedAs), command != null));
        }
        if (args.json()) {
            console.out.println(Json.write(described, true));
        } else {
            described.forEach(d -> print(d, console));
        }
        return status;
    }

    /**
     * What {@code image} holds, as plain values (for JSON and for the text form alike).
     *
     * @param fit        the rule to judge it by; null when its build cannot be known (a damaged image)
     * @param forCommand whether {@code fit} is for a command given, rather than the image's own build
     */
    static Map<String, Object> describe(ImageStore.Image image, ImageFit fit, boolean forCommand) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("id", image.id());
        d.put("directory", image.dir().toString());
        Optional<String> misfit = fit != null ? fit.misfit(image) : image.defect().map(x -> "cannot be used: " + x);
        d.put("fits", misfit.isEmpty());
        d.put("fitFor", forCommand ? "the command given" : "its own build on this machine");
        d.put("misfit", misfit.orElse(null));
        ImageMetadata m = image.metadata();
        if (m == null) {
            d.put("bytes", ImageStore.directoryBytes(image.dir()));
            return d;
        }
        d.put("created", m.created());
        d.put("bytes", m.imageBytes());
        d.put("command", m.process().command());
        d.put("cwd", m.process().cwd());
        d.put("main", m.process().main());
        d.put("pid", m.process().pid());
        d.put("java", m.process().javaVersion() + " (" + m.process().javaVm() + ", " + m.process().javaHome() + ")");
        d.put("residentBytes", m.process().residentBytes());
        Map<String, Object> keys = new LinkedHashMap<>();
        keys.put("build", m.buildKey());
        keys.put("buildParts", m.build().parts());
        keys.put("runtime", m.runtime().map(r -> {
            Map<String, Object> rt = new LinkedHashMap<>();
            rt.put("cpu", r.cpu());
            rt.put("kernel", r.kernel());
            rt.put("nvidiaDriver", r.nvidiaDriver());
            rt.put("gpuModels", r.gpuModels());
            return rt;
        }).orElse(null));
        keys.put("criu", m.criu().version());
        d.put("keys", keys);
        d.put("parts", parts(m.files()));
        d.put("gpu", m.gpu().map(g -> {
            Map<String, Object> gpu = new LinkedHashMap<>();
            List<Map<String, Object>> devices = new ArrayList<>();
            for (GpuDevice dev : g.devices()) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("ordinal", dev.ordinal());
                x.put("name", dev.name());
                x.put("uuid", dev.uuidString());
                x.put("memoryBytes", dev.totalMemory());
                devices.add(x);
            }
            gpu.put("devices", devices);
            gpu.put("driver", g.driver());
            gpu.put("hostBytes", g.hostBytes());
            gpu.put("lockMillis", g.lockMillis());
            gpu.put("checkpointMillis", g.checkpointMillis());
            return gpu;
        }).orElse(null));
        if (!m.deviceMemory().isEmpty()) {
            Map<String, Object> dm = new LinkedHashMap<>();
            dm.put("ranges", m.deviceMemory().ranges().size());
            dm.put("bytes", m.deviceMemory().bytes());
            dm.put("files", m.deviceMemory().files());
            d.put("deviceMemory", dm);
        } else {
            d.put("deviceMemory", null);
        }
        List<Map<String, Object>> stored = new ArrayList<>();
        for (StoredFiles.Stored f : m.storedFiles()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("path", f.path());
            x.put("bytes", f.size());
            stored.add(x);
        }
        d.put("storedFiles", stored);
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("checkpointMillis", m.timings().checkpointMillis());
        timings.put("dumpMillis", m.timings().dumpMillis());
        timings.put("steps", m.timings().steps());
        d.put("checkpointTimings", timings);
        d.put("restores", StepTimings.restores(image.dir()));
        return d;
    }

    /** The image's bytes by part: CRIU's memory pages, CRIU's other files, GPU memory, device memory, stored files. */
    static Map<String, Long> parts(Map<String, Long> files) {
        Map<String, Long> parts = new LinkedHashMap<>();
        for (String part : List.of("criuPages", "criuOther", "gpuMemory", "deviceMemory", "storedFiles", "other")) {
            parts.put(part, 0L);
        }
        files.forEach((name, bytes) -> {
            String part = name.startsWith("pages-") ? "criuPages"
                    : name.startsWith("gpu-memory-") ? "gpuMemory"
                    : name.startsWith("device-memory-") ? "deviceMemory"
                    : name.startsWith("stored-") ? "storedFiles"
                    : name.endsWith(".img") ? "criuOther" : "other";
            parts.merge(part, bytes, Long::sum);
        });
        return parts;
    }

    @SuppressWarnings("unchecked")
    private static void print(Map<String, Object> d, Console console) {
        java.io.PrintStream o = console.out;
        o.printf(Locale.ROOT, "image %s  %s%n", d.get("id"), d.get("directory"));
        o.printf(Locale.ROOT, "  fits:       %s%n", (Boolean) d.get("fits") ? "yes (" + d.get("fitFor") + ")"
                : "no, for " + d.get("fitFor") + ": it " + d.get("misfit"));
        if (!d.containsKey("created")) {
            o.printf(Locale.ROOT, "  size:       %s%n", megabytes((Long) d.get("bytes")));
            return;
        }
        o.printf(Locale.ROOT, "  created:    %s%n", d.get("created"));
        o.printf(Locale.ROOT, "  command:    %s%n", String.join(" ", (List<String>) d.get("command")));
        o.printf(Locale.ROOT, "  cwd:        %s  (pid %s, java %s)%n", d.get("cwd"), d.get("pid"), d.get("java"));
        Map<String, Object> keys = (Map<String, Object>) d.get("keys");
        o.printf(Locale.ROOT, "  build key:  %s%n", keys.get("build"));
        Map<String, Object> runtime = (Map<String, Object>) keys.get("runtime");
        o.printf(Locale.ROOT, "  runtime:    %s%n", runtime == null ? "not recorded" : runtime.get("cpu") + ", kernel "
                + runtime.get("kernel") + ", NVIDIA driver " + runtime.get("nvidiaDriver") + ", GPUs "
                + runtime.get("gpuModels"));
        o.printf(Locale.ROOT, "  size:       %s (resident at checkpoint %s)%n", megabytes((Long) d.get("bytes")),
                megabytes((Long) d.get("residentBytes")));
        ((Map<String, Long>) d.get("parts")).forEach((part, bytes) -> {
            if (bytes > 0) {
                o.printf(Locale.ROOT, "    %-13s %s%n", part, megabytes(bytes));
            }
        });
        Map<String, Object> gpu = (Map<String, Object>) d.get("gpu");
        if (gpu == null) {
            o.printf(Locale.ROOT, "  GPU:        none%n");
        } else {
            for (Map<String, Object> dev : (List<Map<String, Object>>) gpu.get("devices")) {
                o.printf(Locale.ROOT, "  GPU %s:      %s %s (%s)%n", dev.get("ordinal"), dev.get("name"), dev.get("uuid"),
                        megabytes((Long) dev.get("memoryBytes")));
            }
            o.printf(Locale.ROOT, "  GPU state:  CUDA %s, host copy %s%n", gpu.get("driver"),
                    megabytes((Long) gpu.get("hostBytes")));
        }
        Map<String, Object> dm = (Map<String, Object>) d.get("deviceMemory");
        if (dm != null) {
            o.printf(Locale.ROOT, "  device memory moved by Cryo: %s in %s range(s), %s file(s)%n",
                    megabytes((Long) dm.get("bytes")), dm.get("ranges"), dm.get("files"));
        }
        for (Map<String, Object> f : (List<Map<String, Object>>) d.get("storedFiles")) {
            o.printf(Locale.ROOT, "  stored:     %s (%s)%n", f.get("path"), megabytes((Long) f.get("bytes")));
        }
        Map<String, Object> t = (Map<String, Object>) d.get("checkpointTimings");
        o.printf(Locale.ROOT, "  checkpoint: %s ms (dump %s ms), steps (ms): %s%n", t.get("checkpointMillis"),
                t.get("dumpMillis"), t.get("steps"));
        List<Json.Raw> restores = (List<Json.Raw>) d.get("restores");
        for (Json.Raw r : restores.subList(Math.max(0, restores.size() - 3), restores.size())) {
            o.printf(Locale.ROOT, "  restore:    %s%n", r.json());
        }
    }

    static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
