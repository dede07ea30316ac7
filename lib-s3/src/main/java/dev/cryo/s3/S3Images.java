package dev.cryo.s3;

import dev.cryo.internal.ImageMetadata;
import dev.cryo.internal.ImageStore;
import dev.cryo.internal.RemoteImages;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Images in an S3 bucket under a prefix, with the local cache under {@code $CRYO_HOME/cache/BUCKET/PREFIX}.
 *
 * <p>Layout: {@code PREFIX/images/ID/FILE} (the image's files), {@code PREFIX/manifests/ID.properties}
 * (written last: the commit point), {@code PREFIX/claims/KEY} (who publishes a build on a runtime,
 * written with {@code If-None-Match: *}). Transfers run {@link S3Settings#parallel()} at once, files
 * larger than a part in parts: multipart uploads, ranged downloads into the file at its offset.
 */
public final class S3Images implements RemoteImages {
    static final String MANIFESTS = "manifests/";
    static final String IMAGES = "images/";
    static final String CLAIMS = "claims/";
    private static final String MANIFEST_CACHE = ".manifests";

    private final String bucket;
    private final String prefix; // "" or ending with "/"
    private final S3Settings settings;
    private final S3Client s3;
    private final ImageStore cache;
    private final ExecutorService pool;
    /** For tests: called after each part or small file is uploaded (stopping the server mid-upload). */
    volatile Runnable afterUploadedPart = () -> {};

    private S3Images(String bucket, String prefix, S3Settings settings, S3Client s3, Path cacheDir) {
        this.bucket = bucket;
        this.prefix = prefix;
        this.settings = settings;
        this.s3 = s3;
        this.cache = new ImageStore(cacheDir);
        this.pool = Executors.newFixedThreadPool(settings.parallel(), Thread.ofPlatform().daemon().name("cryo-s3-", 0).factory());
    }

    /**
     * Opens {@code s3://BUCKET/PREFIX} and checks that the bucket can be reached.
     *
     * @param env the variables ({@link S3Settings}); a variable not there is read as its system property
     * @throws IOException one line that says what to set (credentials, region, endpoint) or what is wrong
     */
    public static S3Images open(String uri, Path cryoHome, Function<String, String> env) throws IOException {
        if (!uri.startsWith("s3://") || uri.length() <= 5) {
            throw new IOException("'" + uri + "' is not s3://BUCKET/PREFIX");
        }
        String path = uri.substring(5);
        int slash = path.indexOf('/');
        String bucket = slash < 0 ? path : path.substring(0, slash);
        String prefix = slash < 0 ? "" : path.substring(slash + 1).replaceAll("/+$", "");
        if (bucket.isEmpty() || prefix.contains("..")) {
            throw new IOException("'" + uri + "' is not s3://BUCKET/PREFIX");
        }
        S3Settings settings = S3Settings.from(env);
        AwsCredentialsProvider credentials = settings.accessKey() != null && settings.secretKey() != null
                ? StaticCredentialsProvider.create(AwsBasicCredentials.create(settings.accessKey(), settings.secretKey()))
                : DefaultCredentialsProvider.builder().build();
        try {
            credentials.resolveCredentials();
        } catch (RuntimeException e) {
            throw new IOException("no AWS credentials: set " + S3Settings.ACCESS_KEY + " and " + S3Settings.SECRET_KEY
                    + " (or AWS_PROFILE)");
        }
        String region = settings.region();
        if (region == null && settings.endpoint() == null) {
            throw new IOException("no AWS region: set " + S3Settings.REGION);
        }
        var builder = S3Client.builder().credentialsProvider(credentials)
                .region(Region.of(region == null ? "us-east-1" : region)) // an endpoint of its own needs none
                .overrideConfiguration(o -> o.apiCallAttemptTimeout(Duration.ofMinutes(5)));
        if (settings.endpoint() != null) {
            builder.endpointOverride(settings.endpoint());
        }
        if (settings.compatible()) {
            // S3-compatible servers: bucket in the path, and no chunked checksums they refuse
            // ("x-amz-content-sha256 ... does not match"); Cryo checks every file's SHA-256 itself.
            builder.forcePathStyle(true).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        S3Client s3 = builder.build();
        try {
            s3.headBucket(b -> b.bucket(bucket));
        } catch (SdkException e) {
            s3.close();
            throw new IOException(oneLine(e, settings, bucket));
        }
        Path cacheDir = cryoHome.resolve("cache").resolve(bucket).resolve(prefix).toAbsolutePath().normalize();
        return new S3Images(bucket, prefix.isEmpty() ? "" : prefix + "/", settings, s3, cacheDir);
    }

    /** A failure of the SDK as one line that names what to set. */
    static String oneLine(Exception e, S3Settings settings, String bucket) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof java.net.UnknownHostException
                    || t instanceof java.net.SocketTimeoutException) {
                return "cannot connect to " + settings.where() + " (" + t.getMessage() + "): set "
                        + S3Settings.ENDPOINT + " to the S3 endpoint";
            }
        }
        if (e instanceof S3Exception s3e) {
            int status = s3e.statusCode();
            if (status == 403 || status == 401) {
                return settings.where() + " refused the credentials (HTTP " + status + "): check "
                        + S3Settings.ACCESS_KEY + " and " + S3Settings.SECRET_KEY;
            }
            if (status == 404) {
                return "bucket " + bucket + " does not exist at " + settings.where() + ": create it, or correct the URI";
            }
            if (status == 301) {
                return settings.where() + " says bucket " + bucket + " is in another region: set " + S3Settings.REGION;
            }
            String why = s3e.awsErrorDetails() != null ? s3e.awsErrorDetails().errorMessage() : s3e.getMessage();
            return settings.where() + " answered HTTP " + status + ": " + why;
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    @Override
    public String uri() {
        return "s3://" + bucket + "/" + prefix.replaceAll("/$", "");
    }

    @Override
    public ImageStore cache() {
        return cache;
    }

    // ---- listing ----------------------------------------------------------------------------

    @Override
    public List<Manifest> manifests() throws IOException {
        List<Manifest> out = new ArrayList<>();
        try {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix + MANIFESTS)).contents()) {
                String name = o.key().substring((prefix + MANIFESTS).length());
                if (!name.endsWith(".properties")) {
                    continue;
                }
                String id = name.substring(0, name.length() - ".properties".length());
                try {
                    out.add(manifest(id));
                } catch (IOException e) {
                    System.Logger log = System.getLogger(S3Images.class.getName());
                    log.log(System.Logger.Level.WARNING, "manifest of image " + id + " in " + uri() + " left out: " + e.getMessage());
                }
            }
        } catch (SdkException e) {
            throw new IOException(oneLine(e, settings, bucket), e);
        }
        out.sort(Comparator.comparing(Manifest::id).reversed());
        return out;
    }

    /** One manifest, read once and kept in the cache (a manifest never changes). */
    private Manifest manifest(String id) throws IOException {
        Path dir = cache.root().resolve(MANIFEST_CACHE).resolve(id);
        Path file = dir.resolve("manifest.properties");
        if (!Files.isRegularFile(file)) {
            ResponseBytes<GetObjectResponse> bytes;
            try {
                bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(manifestKey(id)));
            } catch (SdkException e) {
                throw new IOException(oneLine(e, settings, bucket), e);
            }
            Files.createDirectories(dir);
            Path tmp = dir.resolve("manifest.properties.tmp");
            Files.write(tmp, bytes.asByteArray());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        String metadata = p.getProperty("metadata");
        if (metadata == null || !id.equals(p.getProperty("id"))) {
            throw new IOException("it is not a Cryo manifest of image " + id);
        }
        Files.writeString(dir.resolve(ImageMetadata.FILE_NAME), metadata);
        Map<String, StoredFile> files = new TreeMap<>();
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith("file.")) {
                String[] v = p.getProperty(k).split(" ");
                files.put(k.substring(5), new StoredFile(Long.parseLong(v[0]), v[1]));
            }
        }
        return new Manifest(id, ImageMetadata.read(dir), files);
    }

    // ---- claims -----------------------------------------------------------------------------

    @Override
    public Optional<String> claim(String claimKey) throws IOException {
        String key = prefix + CLAIMS + claimKey;
        for (int attempt = 0; attempt < 2; attempt++) {
            String holder = host() + " (pid " + ProcessHandle.current().pid() + ") since " + Instant.now() + " #"
                    + HexFormat.of().toHexDigits(new java.security.SecureRandom().nextLong());
            try {
                s3.putObject(b -> b.bucket(bucket).key(key).ifNoneMatch("*"), RequestBody.fromString(holder));
                Optional<String> other = readBack(key, holder);
                if (other.isEmpty()) {
                    return Optional.empty();
                }
                return Optional.of("node " + other.get());
            } catch (S3Exception e) {
                if (e.statusCode() != 412 && e.statusCode() != 409) {
                    throw new IOException(oneLine(e, settings, bucket), e);
                }
            } catch (SdkException e) {
                throw new IOException(oneLine(e, settings, bucket), e);
            }
            String held;
            Instant since;
            try {
                var got = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key));
                held = got.asUtf8String().replaceAll(" #[0-9a-f]+$", "");
                since = got.response().lastModified();
            } catch (NoSuchKeyException e) {
                continue; // given back meanwhile: try again
            } catch (SdkException e) {
                throw new IOException(oneLine(e, settings, bucket), e);
            }
            boolean published = manifests().stream().anyMatch(m -> claimKey.equals(claimKeyOf(m)));
            if (!published && since != null && since.plusSeconds(settings.claimSeconds()).isBefore(Instant.now())) {
                release(claimKey); // its holder published nothing for too long: it died
                continue;
            }
            return Optional.of("node " + held + (published ? " (published)" : ""));
        }
        return Optional.of("another node (the claim changed while it was read)");
    }

    /**
     * After a claim was written: empty when it is still ours, else who overwrote it. AWS S3 (and
     * MinIO) refuse a second If-None-Match write atomically; S3Proxy's filesystem store checks and
     * writes in two steps, so two nodes can both be told yes. Reading back after a short wait
     * ({@code CRYO_S3_CLAIM_SETTLE_MS}, on by default for endpoints other than AWS) leaves one:
     * the last writer.
     */
    private Optional<String> readBack(String key, String mine) throws IOException {
        if (settings.claimSettleMillis() <= 0) {
            return Optional.empty();
        }
        try {
            Thread.sleep(settings.claimSettleMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            String now = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asUtf8String();
            return now.equals(mine) ? Optional.empty() : Optional.of(now.replaceAll(" #[0-9a-f]+$", ""));
        } catch (SdkException e) {
            throw new IOException(oneLine(e, settings, bucket), e);
        }
    }

    private String claimKeyOf(Manifest m) {
        try {
            Properties p = new Properties();
            try (var r = Files.newBufferedReader(cache.root().resolve(MANIFEST_CACHE).resolve(m.id()).resolve("manifest.properties"))) {
                p.load(r);
            }
            return p.getProperty("claimKey");
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void release(String claimKey) throws IOException {
        try {
            s3.deleteObject(b -> b.bucket(bucket).key(prefix + CLAIMS + claimKey));
        } catch (SdkException e) {
            throw new IOException(oneLine(e, settings, bucket), e);
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "?";
        }
    }

    // ---- publish ----------------------------------------------------------------------------

    @Override
    public Manifest publish(Path imageDir, String claimKey) throws IOException {
        ImageMetadata metadata = ImageMetadata.read(imageDir);
        String id = metadata.id();
        Map<String, Long> sizes = imageFiles(imageDir);
        List<Future<?>> work = new ArrayList<>();
        Map<String, Future<String>> digests = new TreeMap<>();
        List<String> multipartIds = new java.util.concurrent.CopyOnWriteArrayList<>();
        try {
            for (Map.Entry<String, Long> f : sizes.entrySet()) {
                Path file = imageDir.resolve(f.getKey());
                digests.put(f.getKey(), pool.submit(() -> sha256(file)));
                work.addAll(upload(file, imageKey(id, f.getKey()), f.getValue(), multipartIds));
            }
            for (Future<?> w : work) {
                get(w);
            }
            Map<String, StoredFile> files = new TreeMap<>();
            for (Map.Entry<String, Long> f : sizes.entrySet()) {
                files.put(f.getKey(), new StoredFile(f.getValue(), get(digests.get(f.getKey()))));
            }
            // The manifest last: the only commit point. An upload cut off before it leaves
            // objects that no listing sees (remove(id) or a bucket lifecycle rule clears them).
            Properties p = new Properties();
            p.setProperty("format", "1");
            p.setProperty("id", id);
            p.setProperty("claimKey", claimKey);
            p.setProperty("publishedBy", host() + " (pid " + ProcessHandle.current().pid() + ") at " + Instant.now());
            p.setProperty("metadata", Files.readString(imageDir.resolve(ImageMetadata.FILE_NAME)));
            files.forEach((name, s) -> p.setProperty("file." + name, s.size() + " " + s.sha256()));
            StringWriter w = new StringWriter();
            p.store(w, "Cryo image manifest");
            s3.putObject(b -> b.bucket(bucket).key(manifestKey(id)), RequestBody.fromString(w.toString()));
            removeUnfinished(id);
            return new Manifest(id, metadata, files);
        } catch (IOException | SdkException | UncheckedIOException e) {
            work.forEach(f -> f.cancel(true));
            for (String upload : multipartIds) {
                try {
                    String[] ku = upload.split("\n", 2);
                    s3.abortMultipartUpload(b -> b.bucket(bucket).key(ku[0]).uploadId(ku[1]));
                } catch (SdkException ignored) {
                    // the server is gone: its lifecycle rule (or the next cleanup) removes the parts
                }
            }
            throw e instanceof SdkException s ? new IOException(oneLine(s, settings, bucket), e)
                    : e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    /** The tasks that upload one file: one put, or a multipart upload of parts whose last task completes it. */
    private List<Future<?>> upload(Path file, String key, long size, List<String> multipartIds) throws IOException {
        long part = settings.partBytes();
        if (size <= part) {
            return List.of(pool.submit(() -> {
                s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromFile(file));
                afterUploadedPart.run();
                return null;
            }));
        }
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
        } catch (SdkException e) {
            throw new IOException(oneLine(e, settings, bucket), e);
        }
        multipartIds.add(key + "\n" + uploadId);
        int parts = (int) ((size + part - 1) / part);
        List<Future<CompletedPart>> partTasks = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            int number = i + 1;
            long offset = i * part;
            int length = (int) Math.min(part, size - offset);
            partTasks.add(pool.submit(() -> {
                byte[] bytes = read(file, offset, length);
                String etag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                        .contentLength((long) length), RequestBody.fromContentProvider(
                                () -> new ByteArrayInputStream(bytes), length, "application/octet-stream")).eTag();
                afterUploadedPart.run();
                return CompletedPart.builder().partNumber(number).eTag(etag).build();
            }));
        }
        List<Future<?>> all = new ArrayList<>(partTasks);
        // Completing waits for the parts in a thread of its own, not one of the pool's (they upload the parts).
        java.util.concurrent.FutureTask<Void> complete = new java.util.concurrent.FutureTask<>(() -> {
            List<CompletedPart> done = new ArrayList<>();
            for (Future<CompletedPart> p : partTasks) {
                done.add(get(p));
            }
            s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(done)));
            multipartIds.remove(key + "\n" + uploadId);
            return null;
        });
        Thread.ofVirtual().start(complete);
        all.add(complete);
        return all;
    }

    private static byte[] read(Path file, long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                if (ch.read(buf, offset + buf.position()) < 0) {
                    throw new IOException(file + " became shorter while it was uploaded");
                }
            }
        }
        return bytes;
    }

    /** The files of an image: all regular files but logs, the metadata file included. */
    static Map<String, Long> imageFiles(Path dir) throws IOException {
        Map<String, Long> files = new TreeMap<>();
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                String rel = dir.relativize(file).toString();
                if (attrs.isRegularFile() && !rel.endsWith(".log")) {
                    files.put(rel, attrs.size());
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return files;
    }

    /**
     * Removes the files of uploads that were cut off (no manifest) and are older than the claim
     * timeout, so that their writer is surely gone; returns how many images' files went.
     */
    int removeUnfinished(String except) {
        int removed = 0;
        try {
            java.util.Set<String> published = new java.util.HashSet<>();
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix + MANIFESTS)).contents()) {
                published.add(o.key().substring((prefix + MANIFESTS).length()).replaceAll("\\.properties$", ""));
            }
            Instant old = Instant.now().minusSeconds(settings.claimSeconds());
            Map<String, Instant> newest = new TreeMap<>();
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix + IMAGES)).contents()) {
                String rest = o.key().substring((prefix + IMAGES).length());
                String id = rest.contains("/") ? rest.substring(0, rest.indexOf('/')) : rest;
                newest.merge(id, o.lastModified(), (x, y) -> x.isAfter(y) ? x : y);
            }
            for (Map.Entry<String, Instant> e : newest.entrySet()) {
                if (!e.getKey().equals(except) && !published.contains(e.getKey()) && e.getValue().isBefore(old)) {
                    remove(e.getKey());
                    removed++;
                }
            }
        } catch (IOException | SdkException e) {
            // left for the next publish
        }
        return removed;
    }

    // ---- fetch ------------------------------------------------------------------------------

    @Override
    public Path fetch(Manifest manifest) throws IOException {
        String id = manifest.id();
        Path target = cache.imagePath(id);
        if (Files.isDirectory(target)) {
            return target; // fetched (and checked) before
        }
        if (!manifest.files().containsKey(ImageMetadata.FILE_NAME)) {
            throw new IOException("its manifest lists no " + ImageMetadata.FILE_NAME);
        }
        makeRoom(manifest.bytes());
        cache.removeStale();
        Path tmp = cache.begin(id);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (Map.Entry<String, StoredFile> f : manifest.files().entrySet()) {
                Path file = tmp.resolve(f.getKey()).normalize();
                if (!file.startsWith(tmp)) {
                    throw new IOException("its manifest names a file outside the image: " + f.getKey());
                }
                Files.createDirectories(file.getParent());
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                long size = f.getValue().size();
                String key = imageKey(id, f.getKey());
                long part = settings.partBytes();
                for (long offset = 0; offset < size; offset += part) {
                    long from = offset;
                    long to = Math.min(size, offset + part) - 1;
                    work.add(pool.submit(() -> {
                        download(key, f.getKey(), file, from, to);
                        return null;
                    }));
                }
            }
            for (Future<?> w : work) {
                get(w);
            }
            List<Future<Optional<String>>> checks = new ArrayList<>();
            for (Map.Entry<String, StoredFile> f : manifest.files().entrySet()) {
                checks.add(pool.submit(() -> {
                    Path file = tmp.resolve(f.getKey());
                    long size = Files.size(file);
                    if (size != f.getValue().size()) {
                        return Optional.of(f.getKey() + " is " + size + " bytes, the manifest says " + f.getValue().size());
                    }
                    String sha = sha256(file);
                    return sha.equals(f.getValue().sha256()) ? Optional.empty()
                            : Optional.of(f.getKey() + " has SHA-256 " + sha + ", the manifest says " + f.getValue().sha256()
                                    + " (changed or damaged in storage)");
                }));
            }
            for (Future<Optional<String>> c : checks) {
                Optional<String> wrong = get(c);
                if (wrong.isPresent()) {
                    throw new IOException(wrong.get() + ": refused");
                }
            }
            ImageStore.finish(tmp, target);
            return target;
        } catch (IOException | RuntimeException e) {
            ImageStore.deleteTree(tmp);
            throw e;
        }
    }

    /** Bytes {@code from..to} of object {@code key} into {@code file} at {@code from}; fewer bytes than asked is an error (truncated). */
    private void download(String key, String name, Path file, long from, long to) throws IOException {
        long want = to - from + 1;
        try (InputStream in = s3.getObject(b -> b.bucket(bucket).key(key).range("bytes=" + from + "-" + to));
                FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 20];
            long at = from;
            int n;
            while ((n = in.read(buf)) > 0) {
                if (at + n > to + 1) {
                    throw new IOException(name + " is longer in storage than the manifest says");
                }
                ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                while (b.hasRemaining()) {
                    at += out.write(b, at);
                }
            }
            if (at - from != want) {
                throw new IOException(name + " is shorter in storage than the manifest says (truncated)");
            }
        } catch (S3Exception e) {
            if (e.statusCode() == 416 || e.statusCode() == 404) {
                throw new IOException(name + " is " + (e.statusCode() == 404 ? "missing" : "shorter than the manifest says (truncated)")
                        + " in storage", e);
            }
            throw new IOException(name + ": " + oneLine(e, settings, bucket), e);
        } catch (SdkException e) {
            throw new IOException(name + ": " + oneLine(e, settings, bucket), e);
        }
    }

    /** Removes the oldest published images from the cache until {@code bytes} more fit under its size limit. */
    private void makeRoom(long bytes) {
        List<ImageStore.Image> images = new ArrayList<>(cache.images());
        java.util.Collections.reverse(images); // oldest first
        long used = 0;
        Map<ImageStore.Image, Long> sizes = new java.util.LinkedHashMap<>();
        for (ImageStore.Image i : images) {
            long s = directoryBytes(i.dir());
            sizes.put(i, s);
            used += s;
        }
        for (Map.Entry<ImageStore.Image, Long> e : sizes.entrySet()) {
            if (used + bytes <= settings.cacheBytes()) {
                return;
            }
            // Only published images leave: one not yet published is this node's only copy.
            if (Files.isDirectory(cache.root().resolve(MANIFEST_CACHE).resolve(e.getKey().id()))) {
                ImageStore.deleteTree(e.getKey().dir());
                used -= e.getValue();
            }
        }
    }

    private static long directoryBytes(Path dir) {
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    // ---- remove -----------------------------------------------------------------------------

    @Override
    public void remove(String id) throws IOException {
        try {
            String claimKey = null;
            try {
                claimKey = claimKeyOf(manifest(id));
            } catch (IOException e) {
                // no manifest: an upload cut off; its files go all the same
            }
            s3.deleteObject(b -> b.bucket(bucket).key(manifestKey(id)));
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix + IMAGES + id + "/")).contents()) {
                s3.deleteObject(b -> b.bucket(bucket).key(o.key()));
            }
            if (claimKey != null) {
                release(claimKey);
            }
            ImageStore.deleteTree(cache.root().resolve(MANIFEST_CACHE).resolve(id));
        } catch (SdkException e) {
            throw new IOException(oneLine(e, settings, bucket), e);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
        s3.close();
    }

    // ---- keys and helpers -------------------------------------------------------------------

    String manifestKey(String id) {
        return prefix + MANIFESTS + id + ".properties";
    }

    String imageKey(String id, String file) {
        return prefix + IMAGES + id + "/" + file;
    }

    /** The SDK's client, for tests that damage objects on purpose. */
    S3Client client() {
        return s3;
    }

    String bucket() {
        return bucket;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf) > 0) {
                buf.flip();
                d.update(buf);
                buf.clear();
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    private static <T> T get(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(c);
        }
    }
}
