package io.memgov.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.UncheckedIOException;

/**
 * Writes the engine's memory snapshots ({@code engine.nodeMemorySnapshot(i)}, {@code engine.clusterMemorySnapshot()})
 * as the JSON Trino serves at {@code /v1/memory} and {@code /v1/cluster/memory}: what a host serves over HTTP. The
 * snapshots are plain records of strings, numbers, lists and maps. One shared mapper; thread-safe.
 *
 * @since 1.0
 */
public final class MemoryJson
{
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT);

    private MemoryJson() {}

    /** The snapshot as indented JSON. */
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
