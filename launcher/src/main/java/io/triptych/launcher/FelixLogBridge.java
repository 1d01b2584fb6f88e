package io.triptych.launcher;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Routes the Felix framework's own log to SLF4J instead of standard output. */
final class FelixLogBridge extends org.apache.felix.framework.Logger {
    private static final Logger LOG = LoggerFactory.getLogger("org.apache.felix.framework");

    FelixLogBridge() {
        setLogLevel(LOG_DEBUG);
    }

    @Override
    protected void doLog(int level, String msg, Throwable t) {
        switch (level) {
            case LOG_ERROR -> LOG.error(msg, t);
            case LOG_WARNING -> LOG.warn(msg, t);
            case LOG_INFO -> LOG.info(msg, t);
            default -> LOG.debug(msg, t);
        }
    }
}
