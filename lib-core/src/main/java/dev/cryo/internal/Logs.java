package dev.cryo.internal;

import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * Cryo's loggers. Where an SLF4J provider is bound they are SLF4J's; where none is, SLF4J 2 would
 * drop every message (its no-operation fallback), so they write to {@link System.Logger} instead:
 * by default java.util.logging's console handler, on stderr, INFO and above. Why a checkpoint
 * was skipped, the restored marker and the reasons of failures are never silently lost.
 */
public final class Logs {
    private static final boolean SLF4J_BOUND = slf4jProviderBound();

    private Logs() {}

    /**
     * The logger named after {@code type}.
     *
     * @param type the class whose name the logger takes
     * @return SLF4J's logger where a provider is bound, else one that forwards to {@link System.Logger}
     */
    public static Logger get(Class<?> type) {
        return SLF4J_BOUND ? LoggerFactory.getLogger(type) : new ToSystemLogger(type.getName());
    }

    /**
     * Whether SLF4J will find a provider, looked up the way SLF4J does (the {@code slf4j.provider}
     * property, else a service provider visible to SLF4J's class loader) but without starting SLF4J,
     * so that no "No SLF4J providers were found" warning is printed where Cryo logs elsewhere.
     */
    static boolean slf4jProviderBound() {
        try {
            Class.forName("org.slf4j.spi.SLF4JServiceProvider", false, LoggerFactory.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            // slf4j-api 1.x (an app's older one won over Cryo's 2.x): it binds through its own
            // StaticLoggerBinder and lacks what the adapter below is built on. Log through it.
            return true;
        }
        if (System.getProperty("slf4j.provider") != null) {
            return true;
        }
        Iterator<SLF4JServiceProvider> providers =
                ServiceLoader.load(SLF4JServiceProvider.class, LoggerFactory.class.getClassLoader()).iterator();
        for (int tries = 0; tries < 100; tries++) {
            try {
                if (!providers.hasNext()) {
                    return false;
                }
                providers.next();
                return true;
            } catch (ServiceConfigurationError e) {
                // A provider that cannot be loaded: SLF4J skips it too; look for the next one.
            }
        }
        return false;
    }

    /** An SLF4J logger that formats as SLF4J does and writes to the {@link System.Logger} of its name. */
    static final class ToSystemLogger extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;
        private final transient System.Logger target;

        ToSystemLogger(String name) {
            this.name = name;
            this.target = System.getLogger(name);
        }

        @Override
        public boolean isTraceEnabled() {
            return target.isLoggable(System.Logger.Level.TRACE);
        }

        @Override
        public boolean isDebugEnabled() {
            return target.isLoggable(System.Logger.Level.DEBUG);
        }

        @Override
        public boolean isInfoEnabled() {
            return target.isLoggable(System.Logger.Level.INFO);
        }

        @Override
        public boolean isWarnEnabled() {
            return target.isLoggable(System.Logger.Level.WARNING);
        }

        @Override
        public boolean isErrorEnabled() {
            return target.isLoggable(System.Logger.Level.ERROR);
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments,
                Throwable throwable) {
            System.Logger.Level to = switch (level) {
                case TRACE -> System.Logger.Level.TRACE;
                case DEBUG -> System.Logger.Level.DEBUG;
                case INFO -> System.Logger.Level.INFO;
                case WARN -> System.Logger.Level.WARNING;
                case ERROR -> System.Logger.Level.ERROR;
            };
            String message = MessageFormatter.basicArrayFormat(pattern, arguments);
            if (throwable == null) {
                target.log(to, message);
            } else {
                target.log(to, message, throwable);
            }
        }
    }
}
