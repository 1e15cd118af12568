package dev.fairload.lb.servlet.standalone;

/** A bad option, option value or configuration file: the launcher prints the message and exits with 2. */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
