package io.triptych.launcher;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;
import org.osgi.util.tracker.ServiceTracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards OSGi Log Service entries (including the framework, bundle and service events the log
 * service records, and SCR's messages) to SLF4J, the host's one logging back end.
 */
final class LogServiceBridge extends ServiceTracker<LogReaderService, LogReaderService> implements LogListener {

    LogServiceBridge(BundleContext context) {
        super(context, LogReaderService.class, null);
    }

    @Override
    public LogReaderService addingService(ServiceReference<LogReaderService> reference) {
        LogReaderService reader = super.addingService(reference);
        reader.addLogListener(this);
        return reader;
    }

    @Override
    public void removedService(ServiceReference<LogReaderService> reference, LogReaderService reader) {
        reader.removeLogListener(this);
        super.removedService(reference, reader);
    }

    @Override
    public void logged(LogEntry entry) {
        Logger log = LoggerFactory.getLogger(entry.getLoggerName() == null ? "osgi" : entry.getLoggerName());
        String bundle = entry.getBundle() == null ? "" : "[" + entry.getBundle().getSymbolicName() + "] ";
        String msg = bundle + entry.getMessage();
        // The log service records every bundle and service event at INFO ("Events.*"); that is debug detail.
        boolean event = log.getName().startsWith("Events.");
        switch (entry.getLogLevel()) {
            case AUDIT, ERROR -> log.error(msg, entry.getException());
            case WARN -> log.warn(msg, entry.getException());
            case INFO -> {
                if (event) {
                    log.debug(msg, entry.getException());
                } else {
                    log.info(msg, entry.getException());
                }
            }
            default -> log.debug(msg, entry.getException());
        }
    }
}
