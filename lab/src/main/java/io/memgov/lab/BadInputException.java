package io.memgov.lab;

/**
 * Bad arguments, a bad workload file or bad configuration: the lab exits with code 2 and prints the message, which
 * names the option or file, the bad value and what is accepted.
 */
final class BadInputException
        extends RuntimeException
{
    BadInputException(String message)
    {
        super(message);
    }
}
