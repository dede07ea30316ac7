package dev.cryo.s3;

import java.net.URI;
import java.util.Locale;
import java.util.function.Function;

/**
 * How to reach the store, from the AWS SDK's standard variables (each also as its system property):
 * {@code AWS_ENDPOINT_URL} (none: AWS itself), {@code AWS_REGION}, {@code AWS_ACCESS_KEY_ID} and
 * {@code AWS_SECRET_ACCESS_KEY} (none: the SDK's default chain, profiles included), and Cryo's
 * {@code CRYO_S3_COMPAT}, {@code CRYO_S3_PARALLEL}, {@code CRYO_S3_PART_MB}, {@code CRYO_CACHE_MAX_GB},
 * {@code CRYO_S3_CLAIM_TIMEOUT_S}, {@code CRYO_S3_CLAIM_SETTLE_MS}.
 *
 * @param endpoint     the endpoint, or null for AWS
 * @param region       the region, or null when none is set
 * @param accessKey    the access key id, or null for the SDK's default chain
 * @param secretKey    its secret
 * @param compatible   path-style access and checksums only where required: what S3-compatible
 *                     servers (S3Proxy, MinIO, Ceph) need; on by default for endpoints other than AWS
 * @param parallel     transfers at once
 * @param partBytes    the part size of uploads and ranged downloads
 * @param cacheBytes   the size limit of the local cache
 * @param claimSeconds after how long a claim without a published image is taken over (its holder died)
 * @param claimSettleMillis how long after writing a claim it is read back (see S3Images#claim); 0 for AWS
 */
record S3Settings(URI endpoint, String region, String accessKey, String secretKey, boolean compatible, int parallel,
        long partBytes, long cacheBytes, long claimSeconds, long claimSettleMillis) {

    static final String ENDPOINT = "AWS_ENDPOINT_URL";
    static final String REGION = "AWS_REGION";
    static final String ACCESS_KEY = "AWS_ACCESS_KEY_ID";
    static final String SECRET_KEY = "AWS_SECRET_ACCESS_KEY";

    /** From {@code env} (a variable's name to its value); a variable not set there is looked up as its system property. */
    static S3Settings from(Function<String, String> env) {
        Function<String, String> get = name -> {
            String v = env.apply(name);
            if (v == null || v.isBlank()) {
                v = System.getProperty(property(name));
            }
            return v == null || v.isBlank() ? null : v.trim();
        };
        String endpoint = get.apply("AWS_ENDPOINT_URL_S3") != null ? get.apply("AWS_ENDPOINT_URL_S3") : get.apply(ENDPOINT);
        URI uri = endpoint == null ? null : URI.create(endpoint);
        boolean aws = uri == null || (uri.getHost() != null && uri.getHost().endsWith(".amazonaws.com"));
        String compat = get.apply("CRYO_S3_COMPAT");
        return new S3Settings(uri, get.apply(REGION) != null ? get.apply(REGION) : get.apply("AWS_DEFAULT_REGION"),
                get.apply(ACCESS_KEY), get.apply(SECRET_KEY),
                compat == null ? !aws : Boolean.parseBoolean(compat),
                number(get.apply("CRYO_S3_PARALLEL"), 16), (long) Math.max(5, number(get.apply("CRYO_S3_PART_MB"), 16)) << 20, // S3's smallest part
                (long) number(get.apply("CRYO_CACHE_MAX_GB"), 50) << 30, number(get.apply("CRYO_S3_CLAIM_TIMEOUT_S"), 3600),
                number(get.apply("CRYO_S3_CLAIM_SETTLE_MS"), aws ? 0 : 300));
    }

    /** {@code AWS_REGION} as {@code aws.region}, {@code CRYO_S3_PARALLEL} as {@code cryo.s3.parallel}. */
    static String property(String variable) {
        String lower = variable.toLowerCase(Locale.ROOT);
        if (lower.startsWith("aws_")) {
            String[] words = lower.substring(4).split("_");
            StringBuilder b = new StringBuilder("aws.").append(words[0]);
            for (int i = 1; i < words.length; i++) {
                b.append(Character.toUpperCase(words[i].charAt(0))).append(words[i].substring(1));
            }
            return b.toString();
        }
        return lower.replace('_', '.');
    }

    private static int number(String v, int otherwise) {
        try {
            return v == null ? otherwise : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** Where this store is, for messages. */
    String where() {
        return endpoint == null ? "AWS S3" + (region == null ? "" : " (" + region + ")") : ENDPOINT + "=" + endpoint;
    }
}
