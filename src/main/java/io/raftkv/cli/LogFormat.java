package io.raftkv.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import org.slf4j.LoggerFactory;

import java.io.OutputStream;

/**
 * How a node writes its log on stderr: {@code text} (one readable line, from logback.xml) or
 * {@code json} (one JSON object per line, logback's {@link JsonEncoder}: time, level, logger,
 * thread, the message with its arguments and its key-values, e.g. a role change's term, from, to
 * and reason), for a log collector to index.
 */
public enum LogFormat {
    TEXT, JSON;

    /** The format named {@code name} (any case), or a message that lists the formats. */
    static LogFormat parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "text" -> TEXT;
            case "json" -> JSON;
            default -> throw new IllegalArgumentException("--log-format must be text or json, not '" + name + "'");
        };
    }

    /** Makes this the format of every log line from now on, written to {@code out}. */
    void apply(OutputStream out) {
        if (this == TEXT) return; // logback.xml's
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(ctx);
        encoder.setWithFormattedMessage(true);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.start();
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(ctx);
        appender.setName("JSON");
        appender.setEncoder(encoder);
        appender.setOutputStream(out);
        appender.setImmediateFlush(true);
        appender.start();
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.detachAndStopAllAppenders();
        root.addAppender(appender);
    }

    /** Back to the configuration in logback.xml (tests). */
    static void reset() {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.reset();
        try {
            new ch.qos.logback.classic.util.ContextInitializer(ctx).autoConfig();
        } catch (ch.qos.logback.core.joran.spi.JoranException e) {
            throw new IllegalStateException("logback.xml does not load: " + e.getMessage(), e);
        }
    }
}
