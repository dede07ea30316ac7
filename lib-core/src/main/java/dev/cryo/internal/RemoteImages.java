package dev.cryo.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Images kept away from this node (object storage), with a local {@link ImageStore} as their
 * working copy and cache: CRIU writes and reads local files, so an image is committed locally
 * first and published from there, and fetched into the cache before it is restored.
 *
 * <p>A remote image exists once its manifest does: the manifest (every file's size and SHA-256,
 * the image's metadata) is written last, so an upload cut off anywhere leaves nothing a restore
 * uses. One node publishes an image per build and runtime: it holds the claim, written only if
 * none exists. Implementations are found through {@link ServiceLoader} ({@link Provider}), so that
 * lib-core depends on no storage SDK: {@code cryo-s3} provides {@code s3://BUCKET/PREFIX}.
 */
public interface RemoteImages extends AutoCloseable {
    /** Set by the launcher for a cold app whose image another node publishes: why its checkpoint is skipped. */
    String SKIP_ENV = "CRYO_CHECKPOINT_SKIPPED";

    /**
     * A published image.
     *
     * @param id       the image id
     * @param metadata its metadata, as the manifest holds it
     * @param files    its files (relative names), each with its size and SHA-256
     */
    record Manifest(String id, ImageMetadata metadata, Map<String, StoredFile> files) {
        /** The bytes of all its files. */
        public long bytes() {
            return files.values().stream().mapToLong(StoredFile::size).sum();
        }
    }

    /** A file of a published image: its size and the hex SHA-256 of its contents. */
    record StoredFile(long size, String sha256) {}

    /** This store's URI, for messages. */
    String uri();

    /** The local working copy and cache: images are committed and fetched here. */
    ImageStore cache();

    /** The published images, newest first; a manifest that cannot be read is left out with a warning. */
    List<Manifest> manifests() throws IOException;

    /**
     * Claims the publication of the image for {@code claimKey} (a build on a runtime): written only
     * if no claim exists. Empty when this node now holds it; otherwise who holds it, for messages.
     */
    Optional<String> claim(String claimKey) throws IOException;

    /** Gives back a claim this node holds, when it publishes nothing after all. */
    void release(String claimKey) throws IOException;

    /** Uploads the committed local image {@code imageDir} in parallel parts, then its manifest, last. */
    Manifest publish(Path imageDir, String claimKey) throws IOException;

    /**
     * The image of {@code manifest} in the cache, downloaded in parallel and each file's SHA-256
     * checked first when it is not there yet; a damaged download is refused and removed.
     */
    Path fetch(Manifest manifest) throws IOException;

    /** Removes a published image: its manifest first, then its files. */
    void remove(String id) throws IOException;

    @Override
    void close();

    /** Opens remote stores of one URI scheme. */
    interface Provider {
        /** The scheme it serves, such as {@code s3}. */
        String scheme();

        /** Opens {@code uri}, with its cache under {@code cryoHome}/cache; the message of a failure is one line that says what to set. */
        RemoteImages open(String uri, Path cryoHome) throws IOException;
    }

    /** Whether {@code location} names a remote store ({@code s3://...}; as a {@link Path} it reads {@code s3:/...}). */
    static boolean isRemote(String location) {
        // "s3:/b" is also a relative path: a directory named "s3:" is not supported as --image

        return location.toLowerCase(Locale.ROOT).matches("^[a-z][a-z0-9+.-]*:/.*");
    }

    /** The URI a location names: a {@code Path} made of {@code s3://b/p} has lost a slash. */
    static String uri(String location) {
        int colon = location.indexOf(":/");
        String rest = location.substring(colon + 1).replaceFirst("^/+", "");
        return location.substring(0, colon).toLowerCase(Locale.ROOT) + "://" + rest;
    }

    /** The local working copy of {@code uri}: {@code $CRYO_HOME/cache/BUCKET/PREFIX}. */
    static Path cacheDirectory(String uri) {
        String rest = uri.substring(uri.indexOf("://") + 3).replaceAll("/+$", "");
        return cryoHome().resolve("cache").resolve(rest).toAbsolutePath().normalize();
    }

    /** {@code $CRYO_HOME}, default {@code ~/.cryo}. */
    static Path cryoHome() {
        String home = System.getenv("CRYO_HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".cryo");
    }

    /**
     * Opens the remote store {@code location} names through its {@link Provider}.
     *
     * @throws IOException one line: no provider for the scheme (put cryo-s3 on the class path), or the provider's
     *                     reason (credentials, endpoint)
     */
    static RemoteImages open(String location) throws IOException {
        String uri = uri(location);
        String scheme = uri.substring(0, uri.indexOf(':'));
        for (Provider p : ServiceLoader.load(Provider.class, RemoteImages.class.getClassLoader())) {
            if (p.scheme().equals(scheme)) {
                return p.open(uri, cryoHome());
            }
        }
        throw new IOException("no image store for " + scheme + ":// URIs on the class path: add cryo-s3 (lib-s3/target/"
                + "cryo-s3.jar and lib-s3/target/lib/*; bin/cryo adds them when built)");
    }
}
