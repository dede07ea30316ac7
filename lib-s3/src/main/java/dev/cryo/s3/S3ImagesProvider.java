package dev.cryo.s3;

import dev.cryo.internal.RemoteImages;
import java.io.IOException;
import java.nio.file.Path;

/** Serves {@code s3://} to lib-core's {@link RemoteImages#open}, through {@link java.util.ServiceLoader}. */
public final class S3ImagesProvider implements RemoteImages.Provider {
    /** For the service loader. */
    public S3ImagesProvider() {}

    @Override
    public String scheme() {
        return "s3";
    }

    @Override
    public RemoteImages open(String uri, Path cryoHome) throws IOException {
        return S3Images.open(uri, cryoHome, System::getenv);
    }
}
