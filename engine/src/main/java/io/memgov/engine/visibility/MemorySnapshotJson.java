package io.memgov.engine.visibility;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.UncheckedIOException;

/** Writes snapshots as JSON with Jackson; one shared mapper, which is thread-safe once configured. */
public final class MemorySnapshotJson
{
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT);

    private MemorySnapshotJson() {}

    public static String toJson(Object snapshot)
    {
        try {
            return MAPPER.writeValueAsString(snapshot);
        }
        catch (JsonProcessingException e) {
            // snapshots are plain records of strings, numbers and maps; failing here is a bug, not bad input
            throw new UncheckedIOException("cannot write " + snapshot.getClass().getSimpleName() + " as JSON", e);
        }
    }
}
