package dev.cryo.internal;

import dev.cryo.internal.cuda.GpuDevice;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The metadata of one image: what was dumped, from what, on what. Written into the image as
 * {@value #FILE_NAME}, a plain properties file so that a person can read it, last, so that an
 * image directory without it is never complete. This class alone knows its keys: it writes the
 * record and reads it back; everyone else reads the record. Its sibling {@link ImageManifest},
 * written after it as the commit point, holds the SHA-256 of this file and of every file listed
 * in {@link #files}.
 *
 * @param id          the image's id
 * @param created     when the checkpoint was taken (ISO-8601)
 * @param build       the build the image was made from: its key and the key's parts ({@link BuildKey})
 * @param process     the process dumped
 * @param runtime     the runtime it needs; empty in images older than runtime keys
 * @param criu        how CRIU dumped it, which the restore must repeat
 * @param openFiles   the files it held open whose size CRIU checks at restore
 * @param storedFiles the files kept in the image ({@code CheckpointOptions.storeFiles})
 * @param gpu         its GPU state, when it had one
 * @param gpuMemory   the GPU memory's host copy kept in files of its own ({@link GpuMemoryFiles})
 * @param deviceMemory the device memory Cryo moved itself, in files of the image ({@link DeviceMemoryFiles})
 * @param timings     how long the checkpoint took
 * @param files       the image's files (relative names) and their sizes, metadata and logs excluded
 * @param environment the process's environment, name to digest of value ({@link EnvironmentDigest}); empty in
 *                    images older than that
 * @param libraries   the libraries it mapped ({@link MappedLibraries}); none in images older than that
 */
public record ImageMetadata(String id, String created, BuildKey.Parts build, Process process, Optional<RuntimeKey> runtime,
        Criu criu, List<OpenFiles.Recorded> openFiles, List<StoredFiles.Stored> storedFiles, Optional<Gpu> gpu,
        List<GpuMemoryFiles.Region> gpuMemory, DeviceMemoryFiles.Layout deviceMemory, Timings timings,
        Map<String, Long> files, Optional<Map<String, String>> environment, List<MappedLibraries.Recorded> libraries) {

    public static final String FILE_NAME = "cryo-image.properties";
    /** The version of the file's layout; an image of another version is never restored. */
    public static final int FORMAT = 1;
    private static final String BUILD_PART = "build.part.";
    private static final String ENV_COUNT = "environment.count";
    private static final String ENV_VAR = "environment.var.";

    public ImageMetadata {
        openFiles = List.copyOf(openFiles);
        storedFiles = List.copyOf(storedFiles);
        gpuMemory = List.copyOf(gpuMemory);
        files = Collections.unmodifiableMap(new TreeMap<>(files));
        environment = environment.map(e -> Collections.unmodifiableMap(new TreeMap<>(e)));
        libraries = List.copyOf(libraries);
    }

    /** Metadata that records no environment and no libraries, as images made before they were recorded. */
    public ImageMetadata(String id, String created, BuildKey.Parts build, Process process, Optional<RuntimeKey> runtime,
            Criu criu, List<OpenFiles.Recorded> openFiles, List<StoredFiles.Stored> storedFiles, Optional<Gpu> gpu,
            List<GpuMemoryFiles.Region> gpuMemory, DeviceMemoryFiles.Layout deviceMemory, Timings timings,
            Map<String, Long> files) {
        this(id, created, build, process, runtime, criu, openFiles, storedFiles, gpu, gpuMemory, deviceMemory, timings,
                files, Optional.empty(), List.of());
    }

    /**
     * The process dumped.
     *
     * @param pid           its pid, which a restore needs free
     * @param command       its command line
     * @param cwd           its working directory
     * @param main          {@code sun.java.command}
     * @param javaVersion   {@code java.version}
     * @param javaVm        the VM's name and version
     * @param javaHome      {@code java.home}
     * @param osArch        {@code os.arch}
     * @param osKernel      {@code os.version}
     * @param residentBytes its resident memory just before the dump
     * @param stdio         for each of descriptors 0-2, what it was (CRIU's inherit-fd key)
     */
    public record Process(long pid, List<String> command, String cwd, String main, String javaVersion, String javaVm,
            String javaHome, String osArch, String osKernel, long residentBytes, Map<Integer, String> stdio) {
        public Process {
            command = List.copyOf(command);
            stdio = Collections.unmodifiableMap(new TreeMap<>(stdio));
        }
    }

    /**
     * How CRIU dumped the process.
     *
     * @param version             CRIU's version, as {@code 4.2.1}
     * @param dumpDirectory       the temporary directory dumped into (the process held it open)
     * @param tcpEstablished      {@code CheckpointOptions.tcpEstablished}
     * @param externalUnixSockets {@code CheckpointOptions.externalUnixSockets}
     * @param fileLocks           {@code CheckpointOptions.fileLocks}
     */
    public record Criu(String version, String dumpDirectory, boolean tcpEstablished, boolean externalUnixSockets,
            boolean fileLocks) {}

    /**
     * The GPU state the image holds.
     *
     * @param devices          the GPUs the state belongs to, in the driver's order
     * @param driver           the driver's CUDA version, as {@code 13.0}
     * @param hostBytes        the host memory the driver's copy took
     * @param lockMillis       how long the lock took
     * @param checkpointMillis how long the driver's checkpoint took
     */
    public record Gpu(List<GpuDevice> devices, String driver, long hostBytes, long lockMillis, long checkpointMillis) {
        public Gpu {
            devices = List.copyOf(devices);
        }
    }

    /**
     * How long the checkpoint took.
     *
     * @param dumpMillis       CRIU's dump
     * @param checkpointMillis all of {@code checkpointNow()} until the commit
     * @param steps            each step, in order
     */
    public record Timings(long dumpMillis, long checkpointMillis, Map<String, Long> steps) {
        public Timings {
            steps = Collections.unmodifiableMap(new LinkedHashMap<>(steps));
        }
    }

    /** The build key the image was made from. */
    public String buildKey() {
        return build.key();
    }

    /** The total size of the image's files. */
    public long imageBytes() {
        return files.values().stream().mapToLong(Long::longValue).sum();
    }

    /** This metadata with the image's files listed. */
    public ImageMetadata withFiles(Map<String, Long> list) {
        return new ImageMetadata(id, created, build, process, runtime, criu, openFiles, storedFiles, gpu, gpuMemory,
                deviceMemory, timings, list, environment, libraries);
    }

    /** This metadata with the checkpoint's timings. */
    public ImageMetadata withTimings(Timings t) {
        return new ImageMetadata(id, created, build, process, runtime, criu, openFiles, storedFiles, gpu, gpuMemory,
                deviceMemory, t, files, environment, libraries);
    }

    /** Writes the file (0600) into {@code imageDir} through a temporary file and a rename, so it is whole or absent. */
    public void write(Path imageDir) throws IOException {
        Properties p = new Properties();
        toProperties().forEach(p::setProperty);
        Path tmp = imageDir.resolve(FILE_NAME + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "Cryo image metadata");
        }
        Permissions.ownerOnlyFile(tmp);
        Files.move(tmp, imageDir.resolve(FILE_NAME), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Reads the metadata of the image in {@code imageDir}.
     *
     * @throws IOException when the file is missing, unreadable, of another format, or lacks what a restore needs;
     *                     the message says which
     */
    public static ImageMetadata read(Path imageDir) throws IOException {
        Path file = imageDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException("it has no readable " + FILE_NAME);
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("its " + FILE_NAME + " is unreadable: " + e, e);
        }
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        if (!Integer.toString(FORMAT).equals(m.get("format"))) {
            throw new IOException("its format " + m.get("format") + " is not " + FORMAT);
        }
        try {
            return fromProperties(m);
        } catch (RuntimeException e) {
            throw new IOException("its " + FILE_NAME + " is damaged: " + e, e);
        }
    }

    /** The file's entries. Scripts read some of them (image.bytes, step.*.millis): their names stay. */
    Map<String, String> toProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", Integer.toString(FORMAT));
        m.put("id", id);
        m.put("created", created);
        m.put("pid", Long.toString(process.pid()));
        // NUL-separated: an argument may hold any other character; Properties escapes it.
        m.put("command", String.join("\u0000", process.command()));
        m.put("cwd", process.cwd());
        m.put("main", process.main());
        m.put("java.version", process.javaVersion());
        m.put("java.vm", process.javaVm());
        m.put("java.home", process.javaHome());
        m.put("os.arch", process.osArch());
        m.put("os.kernel", process.osKernel());
        m.put("resident.bytes", Long.toString(process.residentBytes()));
        process.stdio().forEach((fd, key) -> m.put("stdio." + fd, key));
        m.put("build.key", build.key());
        build.parts().forEach((name, value) -> m.put(BUILD_PART + name, value));
        m.put("criu.version", criu.version());
        m.put("criu.dumpDirectory", criu.dumpDirectory());
        m.put("options.tcpEstablished", Boolean.toString(criu.tcpEstablished()));
        m.put("options.externalUnixSockets", Boolean.toString(criu.externalUnixSockets()));
        m.put("options.fileLocks", Boolean.toString(criu.fileLocks()));
        runtime.ifPresent(r -> {
            m.put("runtime.cpu", r.cpu());
            m.put("runtime.cpuFlags", r.cpuFlags());
            m.put("runtime.kernel", r.kernel());
            m.put("runtime.nvidiaDriver", r.nvidiaDriver());
            m.put("runtime.gpuModels", r.gpuModels());
        });
        for (int n = 0; n < openFiles.size(); n++) {
            OpenFiles.Recorded f = openFiles.get(n);
            m.put("openFile." + n + ".path", f.path());
            m.put("openFile." + n + ".size", Long.toString(f.size()));
            m.put("openFile." + n + ".modified", Long.toString(f.modified()));
        }
        for (int n = 0; n < storedFiles.size(); n++) {
            StoredFiles.Stored f = storedFiles.get(n);
            m.put("stored." + n + ".path", f.path());
            m.put("stored." + n + ".size", Long.toString(f.size()));
            m.put("stored." + n + ".modified", Long.toString(f.modified()));
            m.put("stored." + n + ".mode", f.mode());
        }
        gpu.ifPresent(g -> {
            m.put("gpu.count", Integer.toString(g.devices().size()));
            for (GpuDevice d : g.devices()) {
                m.put("gpu." + d.ordinal() + ".name", d.name());
                m.put("gpu." + d.ordinal() + ".uuid", d.uuidString());
                m.put("gpu." + d.ordinal() + ".memory", Long.toString(d.totalMemory()));
            }
            m.put("gpu.driver", g.driver());
            m.put("gpu.hostBytes", Long.toString(g.hostBytes()));
            m.put("gpu.lockMillis", Long.toString(g.lockMillis()));
            m.put("gpu.checkpointMillis", Long.toString(g.checkpointMillis()));
        });
        for (int n = 0; n < gpuMemory.size(); n++) {
            m.put("gpuMemory." + n + ".address", Long.toUnsignedString(gpuMemory.get(n).start()));
            m.put("gpuMemory." + n + ".bytes", Long.toString(gpuMemory.get(n).bytes()));
        }
        if (!deviceMemory.isEmpty()) {
            List<DeviceMemoryFiles.Range> ranges = deviceMemory.ranges();
            m.put("deviceMemory.count", Integer.toString(ranges.size()));
            for (int n = 0; n < ranges.size(); n++) {
                m.put("deviceMemory." + n + ".gpu", Integer.toString(ranges.get(n).gpu()));
                m.put("deviceMemory." + n + ".address", Long.toUnsignedString(ranges.get(n).address()));
                m.put("deviceMemory." + n + ".bytes", Long.toString(ranges.get(n).bytes()));
            }
            m.put("deviceMemory.chunkBytes", Long.toString(deviceMemory.chunkBytes()));
            m.put("deviceMemory.files", Integer.toString(deviceMemory.files()));
            m.put("deviceMemory.crc32c", String.join(",", deviceMemory.crc32c().stream()
                    .map(c -> java.util.HexFormat.of().toHexDigits(c)).toList()));
        }
        environment.ifPresent(e -> {
            m.put(ENV_COUNT, Integer.toString(e.size()));
            e.forEach((name, digest) -> m.put(ENV_VAR + name, digest));
        });
        for (int n = 0; n < libraries.size(); n++) {
            MappedLibraries.Recorded l = libraries.get(n);
            m.put("library." + n + ".path", l.path());
            m.put("library." + n + ".size", Long.toString(l.size()));
            m.put("library." + n + ".modified", Long.toString(l.modified()));
            m.put("library." + n + ".inode", l.inode());
            m.put("library." + n + ".sha256", l.sha256());
        }
        m.put("dump.millis", Long.toString(timings.dumpMillis()));
        m.put("checkpoint.millis", Long.toString(timings.checkpointMillis()));
        timings.steps().forEach((name, ms) -> m.put("step." + name + ".millis", Long.toString(ms)));
        files.forEach((name, size) -> m.put("file." + name, Long.toString(size)));
        m.put("image.bytes", Long.toString(imageBytes()));
        return m;
    }

    private static ImageMetadata fromProperties(Map<String, String> m) {
        String commandLine = m.getOrDefault("command", "");
        Map<Integer, String> stdio = new TreeMap<>();
        for (int fd = 0; fd <= 2; fd++) {
            if (m.containsKey("stdio." + fd)) {
                stdio.put(fd, m.get("stdio." + fd));
            }
        }
        Process process = new Process(Long.parseLong(required(m, "pid")),
                commandLine.isEmpty() ? List.of() : List.of(commandLine.split("\u0000", -1)),
                m.getOrDefault("cwd", ""), m.getOrDefault("main", ""), m.getOrDefault("java.version", ""),
                m.getOrDefault("java.vm", ""), m.getOrDefault("java.home", ""), m.getOrDefault("os.arch", ""),
                m.getOrDefault("os.kernel", ""), number(m, "resident.bytes"), stdio);
        Optional<RuntimeKey> runtime = m.containsKey("runtime.cpuFlags")
                ? Optional.of(new RuntimeKey(m.getOrDefault("runtime.cpu", "?"), m.get("runtime.cpuFlags"),
                        m.getOrDefault("runtime.kernel", ""), m.getOrDefault("runtime.nvidiaDriver", RuntimeKey.NONE),
                        m.getOrDefault("runtime.gpuModels", RuntimeKey.NONE)))
                : Optional.empty(); // an image from before runtime keys
        Criu criu = new Criu(m.getOrDefault("criu.version", ""), m.getOrDefault("criu.dumpDirectory", ""),
                Boolean.parseBoolean(m.get("options.tcpEstablished")),
                Boolean.parseBoolean(m.get("options.externalUnixSockets")), Boolean.parseBoolean(m.get("options.fileLocks")));
        List<OpenFiles.Recorded> openFiles = new ArrayList<>();
        for (int n = 0; m.containsKey("openFile." + n + ".path"); n++) {
            openFiles.add(new OpenFiles.Recorded(m.get("openFile." + n + ".path"),
                    Long.parseLong(required(m, "openFile." + n + ".size")), number(m, "openFile." + n + ".modified")));
        }
        List<StoredFiles.Stored> stored = new ArrayList<>();
        for (int n = 0; m.containsKey("stored." + n + ".path"); n++) {
            stored.add(new StoredFiles.Stored(m.get("stored." + n + ".path"),
                    Long.parseLong(required(m, "stored." + n + ".size")),
                    Long.parseLong(required(m, "stored." + n + ".modified")), required(m, "stored." + n + ".mode")));
        }
        Optional<Gpu> gpu = Optional.empty();
        if (m.containsKey("gpu.count")) {
            List<GpuDevice> devices = new ArrayList<>();
            for (int i = 0; i < Integer.parseInt(m.get("gpu.count")); i++) {
                devices.add(new GpuDevice(i, required(m, "gpu." + i + ".name"),
                        GpuDevice.parseUuid(required(m, "gpu." + i + ".uuid")),
                        Long.parseLong(required(m, "gpu." + i + ".memory"))));
            }
            gpu = Optional.of(new Gpu(devices, m.getOrDefault("gpu.driver", ""), number(m, "gpu.hostBytes"),
                    number(m, "gpu.lockMillis"), number(m, "gpu.checkpointMillis")));
        }
        List<GpuMemoryFiles.Region> gpuMemory = new ArrayList<>();
        for (int n = 0; m.containsKey("gpuMemory." + n + ".address"); n++) {
            long start = Long.parseUnsignedLong(m.get("gpuMemory." + n + ".address"));
            gpuMemory.add(new GpuMemoryFiles.Region(start,
                    start + Long.parseLong(required(m, "gpuMemory." + n + ".bytes"))));
        }
        DeviceMemoryFiles.Layout deviceMemory = DeviceMemoryFiles.Layout.NONE;
        if (m.containsKey("deviceMemory.count")) {
            List<DeviceMemoryFiles.Range> ranges = new ArrayList<>();
            for (int n = 0; n < Integer.parseInt(m.get("deviceMemory.count")); n++) {
                ranges.add(new DeviceMemoryFiles.Range(Integer.parseInt(required(m, "deviceMemory." + n + ".gpu")),
                        Long.parseUnsignedLong(required(m, "deviceMemory." + n + ".address")),
                        Long.parseLong(required(m, "deviceMemory." + n + ".bytes"))));
            }
            String crcs = m.getOrDefault("deviceMemory.crc32c", "");
            deviceMemory = new DeviceMemoryFiles.Layout(ranges, Long.parseLong(required(m, "deviceMemory.chunkBytes")),
                    Integer.parseInt(required(m, "deviceMemory.files")), crcs.isEmpty() ? List.of()
                            : java.util.Arrays.stream(crcs.split(",")).map(java.util.HexFormat::fromHexDigits).toList());
        }
        List<MappedLibraries.Recorded> libraries = new ArrayList<>();
        for (int n = 0; m.containsKey("library." + n + ".path"); n++) {
            libraries.add(new MappedLibraries.Recorded(m.get("library." + n + ".path"),
                    Long.parseLong(required(m, "library." + n + ".size")), number(m, "library." + n + ".modified"),
                    m.getOrDefault("library." + n + ".inode", ""), required(m, "library." + n + ".sha256")));
        }
        Map<String, String> env = new TreeMap<>();
        Map<String, Long> steps = new LinkedHashMap<>();
        Map<String, Long> files = new TreeMap<>();
        Map<String, String> buildParts = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (k.startsWith(BUILD_PART)) {
                buildParts.put(k.substring(BUILD_PART.length()), v);
            }
            if (k.startsWith(ENV_VAR)) {
                env.put(k.substring(ENV_VAR.length()), v);
            }
            if (k.startsWith("step.") && k.endsWith(".millis")) {
                steps.put(k.substring(5, k.length() - 7), Long.parseLong(v));
            } else if (k.startsWith("file.")) {
                files.put(k.substring(5), Long.parseLong(v));
            }
        });
        return new ImageMetadata(m.getOrDefault("id", ""), m.getOrDefault("created", ""), new BuildKey.Parts(required(m, "build.key"), buildParts),
                process, runtime, criu, openFiles, stored, gpu, gpuMemory, deviceMemory,
                new Timings(number(m, "dump.millis"), number(m, "checkpoint.millis"), steps), files,
                m.containsKey(ENV_COUNT) ? Optional.of(env) : Optional.empty(), libraries);
    }

    private static String required(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no " + key);
        }
        return v;
    }

    /** A number the image only reports (0 when absent); a malformed one is damage. */
    private static long number(Map<String, String> m, String key) {
        String v = m.get(key);
        return v == null ? 0 : Long.parseLong(v);
    }
}
