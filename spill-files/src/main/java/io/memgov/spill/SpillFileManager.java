package io.memgov.spill;

import io.memgov.spi.policy.DataSizes;
import io.memgov.spi.query.ErrorCode;
import io.memgov.spi.query.MemoryLimitExceededException;
import io.memgov.spi.query.QueryId;
import io.memgov.spi.query.TaskId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

import static java.util.Objects.requireNonNull;

/**
 * Owns a node's spill files: where they go, how many bytes they may take, how they are stored, and that they are
 * gone when their query is. Infrastructure that hosts call, not a policy; one per node.
 *
 * <p><b>Placement.</b> {@link #create} takes the spill paths round-robin and skips a path whose disk is used at or
 * above {@code spiller-max-used-space-threshold} (Trino's {@code usable > total * (1 - threshold)} test, asked of the
 * {@link DiskUsageProbe} for each new file). When every path is too full, creation fails with
 * {@link ErrorCode#EXCEEDED_SPILL_LIMIT} naming the paths.
 *
 * <p><b>Limits.</b> Every block written is charged, at its size on disk (the first one with the file's 8-byte header),
 * to its query and to the node before it is buffered or written, with Trino's checks and messages:
 * {@code Query exceeded per-query local spill limit of %s} when the query would go over
 * {@code query-max-spill-per-node}, then {@code Query exceeded local spill limit of %s} when the node would reach
 * {@code max-spill-per-node}. Both throw {@link MemoryLimitExceededException} with
 * {@link ErrorCode#EXCEEDED_SPILL_LIMIT}; a write refused for a limit leaves the counters and the file as they were.
 * Writers batch (see below), so a disk error may surface on a later write or on close: the file is then cut back to
 * its whole blocks on disk and the counters to match ({@link SpillFileWriter} says which blocks are lost). Bytes are
 * given back when a file is deleted.
 *
 * <p><b>Storage.</b> Blocks are compressed one by one with LZ4 when configured. With encryption on, each query gets a
 * fresh random 256-bit AES key, held only in this object's memory and dropped by {@link #releaseQuery}; each block is
 * sealed with AES-GCM under a fresh random IV. Every frame carries a CRC32C of what is on disk, so a damaged file fails
 * on read with an error naming the file and the block. {@link SpillFile} documents the format.
 *
 * <p><b>Speed.</b> A writer gathers frames in a direct buffer and writes it when full or closed; a reader reads ahead
 * into one; a block stored as it is and in clear is copied once on each side, as a bare {@code FileChannel} would copy
 * a heap array. Each open writer that has written holds a buffer of 256 KB (1 MB once it writes a larger block), and
 * each reader that has read one of 128 KB, taken from pools the JVM's managers share and given back on close. The pools hold at most a sixteenth of
 * the maximum heap in direct memory, and 64 MB; past that, writers and readers get 16 KB heap buffers, slower but never
 * short of direct memory. Scratch arrays, the checksum and the cipher are reused from block to block.
 *
 * <p><b>Clean-up.</b> Files are named {@code memgov-spill-<queryId>-<random>.bin}. The constructor deletes files of
 * that pattern left under the spill paths by a crashed run (logging how many at INFO), except files a live manager in
 * this JVM still owns. {@link #releaseQuery} deletes a query's files and key; {@link #close} deletes everything.
 * Two processes must not share a spill path, as in Trino.
 *
 * <p><b>Killed queries.</b> A query killed by memory governance (a spill limit, a killer, a failed revoke) must leave
 * no file behind, even while its operators are still winding down and may try to spill once more. The host passes
 * every failure to {@link #queryFailed}, which deletes the files at once and refuses new files of that query (or of
 * those tasks) until {@link #releaseQuery} ends the query. With the memgov engine that is one line:
 * <pre>{@code
 * engine.addQueryFailureListener((queryId, tasks, errorCode, message) -> spillFiles.queryFailed(queryId, tasks));
 * }</pre>
 *
 * <p><b>Threads.</b> Thread-safe; the per-node and per-query counters are exact under concurrent writers. Disk I/O
 * happens outside the manager's lock.
 *
 * @since 0.1
 */
public final class SpillFileManager
        implements AutoCloseable
{
    static final String FILE_PREFIX = "memgov-spill-";
    static final String FILE_SUFFIX = ".bin";
    static final String FILE_GLOB = FILE_PREFIX + "*" + FILE_SUFFIX;

    private static final Logger log = LoggerFactory.getLogger(SpillFileManager.class);

    // JVM-wide, because the nodes of an embedded cluster may share spill paths: a manager starting later must not
    // take an earlier one's files for leftovers
    private static final Set<Path> LIVE_FILES = ConcurrentHashMap.newKeySet();

    private final SpillConfig config;
    private final DiskUsageProbe diskUsageProbe;
    private final ChannelOpener channelOpener;
    private final SpillBuffers buffers;
    private final SecureRandom random = new SecureRandom();
    private final int leftoverFilesDeleted;

    private final Object lock = new Object();
    // guarded by lock
    private final Map<QueryId, QuerySpill> queries = new HashMap<>();
    // queries and tasks that failed and may not spill again until the host releases the query
    private final Set<QueryId> failedQueries = new java.util.HashSet<>();
    private final Set<TaskId> failedTasks = new java.util.HashSet<>();
    private long spilledBytes;
    private long totalSpilledBytes;
    private int openFiles;
    private int nextPath;
    private boolean closed;

    /** Spills as configured, measuring disks with {@link DiskUsageProbe#FILE_STORE}. */
    public SpillFileManager(SpillConfig config)
    {
        this(config, DiskUsageProbe.FILE_STORE);
    }

    /**
     * Creates the spill directories that are missing and deletes leftovers of a crashed run.
     *
     * @throws UncheckedIOException if a spill path cannot be created or listed
     * @throws IllegalArgumentException if a spill path is not a writable directory
     */
    public SpillFileManager(SpillConfig config, DiskUsageProbe diskUsageProbe)
    {
        this(config, diskUsageProbe, FileChannel::open, SpillBuffers.SHARED);
    }

    /** Opens spill files with {@code channelOpener} and buffers them from {@code buffers}: tests substitute their own. */
    SpillFileManager(SpillConfig config, DiskUsageProbe diskUsageProbe, ChannelOpener channelOpener, SpillBuffers buffers)
    {
        this.config = requireNonNull(config, "config is null");
        this.diskUsageProbe = requireNonNull(diskUsageProbe, "diskUsageProbe is null");
        this.channelOpener = requireNonNull(channelOpener, "channelOpener is null");
        this.buffers = requireNonNull(buffers, "buffers is null");
        for (Path path : config.spillPaths()) {
            try {
                Files.createDirectories(path);
            }
            catch (IOException e) {
                throw new UncheckedIOException("Cannot create spill path " + path, e);
            }
            if (!Files.isDirectory(path) || !Files.isWritable(path)) {
                throw new IllegalArgumentException("Spill path " + path + " is not a writable directory");
            }
        }
        this.leftoverFilesDeleted = deleteLeftovers(config.spillPaths());
    }

    public SpillConfig config()
    {
        return config;
    }

    /** Same as {@link #create(QueryId, TaskId, String)} for the task's query. */
    public SpillFile create(TaskId taskId, String tag)
    {
        requireNonNull(taskId, "taskId is null");
        return create(taskId.queryId(), taskId, tag);
    }

    /**
     * Creates an empty spill file on the next spill path with room.
     *
     * @param queryId the query charged for the file; never null
     * @param taskId the task spilling, or null when the spill belongs to the query as a whole; must be of {@code queryId}
     * @param tag the operator kind, e.g. {@code OrderBy}; never null
     * @throws MemoryLimitExceededException with {@link ErrorCode#EXCEEDED_SPILL_LIMIT} when every spill path's disk is
     *         used above the threshold; no file was created
     * @throws IllegalStateException if the manager is closed
     * @throws UncheckedIOException if the file cannot be created
     */
    public SpillFile create(QueryId queryId, TaskId taskId, String tag)
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(tag, "tag is null");
        if (taskId != null && !taskId.queryId().equals(queryId)) {
            throw new IllegalArgumentException("Task " + taskId + " is not a task of query " + queryId);
        }
        checkNotClosed();
        checkNotFailed(queryId, taskId);
        Path directory = chooseDirectory();
        Path path;
        try {
            // createTempFile: an unpredictable name, created atomically, readable by the owner only on POSIX
            path = Files.createTempFile(directory, FILE_PREFIX + queryId + "-", FILE_SUFFIX);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot create a spill file in " + directory, e);
        }
        LIVE_FILES.add(path);
        synchronized (lock) {
            if (!closed && !isFailed(queryId, taskId)) {
                QuerySpill query = queries.computeIfAbsent(queryId, this::newQuery);
                SpillFile file = new SpillFile(this, query, taskId, tag, path);
                query.files.add(file);
                openFiles++;
                return file;
            }
        }
        LIVE_FILES.remove(path);
        deleteQuietly(path);
        checkNotFailed(queryId, taskId);
        throw new IllegalStateException("SpillFileManager is closed");
    }

    /**
     * Memory governance failed the query, or some of its tasks: deletes their files now and refuses new ones (with
     * {@link IllegalStateException}) until {@link #releaseQuery} ends the query. Writers and readers of the deleted
     * files fail from then on. Idempotent.
     *
     * @param tasks the tasks killed, or empty when the whole query failed; never null
     */
    public void queryFailed(QueryId queryId, Set<TaskId> tasks)
    {
        requireNonNull(queryId, "queryId is null");
        requireNonNull(tasks, "tasks is null");
        List<SpillFile> toDelete = new ArrayList<>();
        QuerySpill released = null;
        synchronized (lock) {
            if (tasks.isEmpty()) {
                failedQueries.add(queryId);
                released = queries.remove(queryId);
                if (released != null) {
                    released.released = true;
                }
            }
            else {
                failedTasks.addAll(tasks);
                QuerySpill query = queries.get(queryId);
                if (query != null) {
                    for (SpillFile file : query.files) {
                        if (file.taskId().filter(tasks::contains).isPresent()) {
                            toDelete.add(file);
                        }
                    }
                }
            }
        }
        if (released != null) {
            deleteFiles(released);
        }
        toDelete.forEach(SpillFile::close);
        log.debug("Query {} failed{}: deleted its spill files", queryId, tasks.isEmpty() ? "" : " in tasks " + tasks);
    }

    /**
     * Deletes every file of the query and forgets its key. Called by the host when the query finishes, fails or is
     * killed on this node. Writers and readers of those files fail from then on. Idempotent; a query that spills
     * again later starts afresh with a new key.
     */
    public void releaseQuery(QueryId queryId)
    {
        requireNonNull(queryId, "queryId is null");
        QuerySpill query;
        synchronized (lock) {
            failedQueries.remove(queryId);
            failedTasks.removeIf(task -> task.queryId().equals(queryId));
            query = queries.remove(queryId);
            if (query == null) {
                return;
            }
            query.released = true;
        }
        deleteFiles(query);
    }

    /** Bytes the query has on this node's disks now; zero when unknown. */
    public long spilledBytes(QueryId queryId)
    {
        requireNonNull(queryId, "queryId is null");
        synchronized (lock) {
            QuerySpill query = queries.get(queryId);
            return query == null ? 0 : query.bytes;
        }
    }

    /** Bytes all queries have on this node's disks now, what {@code max-spill-per-node} limits. */
    public long spilledBytes()
    {
        synchronized (lock) {
            return spilledBytes;
        }
    }

    /** Bytes ever written by this manager, deleted or not; only grows. */
    public long totalSpilledBytes()
    {
        synchronized (lock) {
            return totalSpilledBytes;
        }
    }

    /** Spill files created and not yet deleted. */
    public int openFiles()
    {
        synchronized (lock) {
            return openFiles;
        }
    }

    /** How many leftover files of a crashed run the constructor deleted. */
    public int leftoverFilesDeleted()
    {
        return leftoverFilesDeleted;
    }

    /** Deletes every spill file and key; later {@link #create} calls fail. Idempotent. */
    @Override
    public void close()
    {
        List<QuerySpill> all;
        synchronized (lock) {
            closed = true;
            all = new ArrayList<>(queries.values());
            queries.clear();
            all.forEach(query -> query.released = true);
        }
        all.forEach(this::deleteFiles);
    }

    // --- called by SpillFile and its writer, with the file's lock held (file lock, then manager lock, never reverse)

    /** Charges bytes about to be written; throws, changing nothing, when a limit would be crossed. */
    void reserve(QuerySpill query, long bytes)
    {
        synchronized (lock) {
            if (query.released) {
                throw new IllegalStateException("Spill files of query " + query.queryId + " were released");
            }
            // Trino's QueryContext.reserveSpill: over the per-query limit fails
            if (query.bytes + bytes > config.queryMaxSpillPerNodeBytes()) {
                throw new MemoryLimitExceededException(ErrorCode.EXCEEDED_SPILL_LIMIT,
                        String.format("Query exceeded per-query local spill limit of %s", DataSizes.succinct(config.queryMaxSpillPerNodeBytes())));
            }
            // Trino's SpillSpaceTracker.reserve: reaching the node limit fails
            if (spilledBytes + bytes >= config.maxSpillPerNodeBytes()) {
                throw new MemoryLimitExceededException(ErrorCode.EXCEEDED_SPILL_LIMIT,
                        String.format("Query exceeded local spill limit of %s", DataSizes.succinct(config.maxSpillPerNodeBytes())));
            }
            query.bytes += bytes;
            spilledBytes += bytes;
            totalSpilledBytes += bytes;
        }
    }

    /** Gives back bytes of a write that failed after {@link #reserve}. */
    void unreserve(QuerySpill query, long bytes)
    {
        synchronized (lock) {
            query.bytes -= bytes;
            spilledBytes -= bytes;
            totalSpilledBytes -= bytes;
        }
    }

    /** The file was deleted: its bytes and its slot are free again. */
    void fileDeleted(SpillFile file, long bytes)
    {
        LIVE_FILES.remove(file.path());
        synchronized (lock) {
            QuerySpill query = file.querySpill();
            query.files.remove(file);
            query.bytes -= bytes;
            spilledBytes -= bytes;
            openFiles--;
        }
    }

    SecureRandom random()
    {
        return random;
    }

    ChannelOpener channelOpener()
    {
        return channelOpener;
    }

    SpillBuffers buffers()
    {
        return buffers;
    }

    private QuerySpill newQuery(QueryId queryId)
    {
        if (!config.encryptionEnabled()) {
            return new QuerySpill(queryId, null);
        }
        try {
            KeyGenerator generator = KeyGenerator.getInstance("AES");
            generator.init(256, random);
            return new QuerySpill(queryId, generator.generateKey());
        }
        catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256 is not available in this JVM", e);
        }
    }

    private Path chooseDirectory()
    {
        List<Path> paths = config.spillPaths();
        int start;
        synchronized (lock) {
            start = nextPath;
            nextPath = (nextPath + 1) % paths.size();
        }
        List<String> refused = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            Path path = paths.get((start + i) % paths.size());
            try {
                DiskUsage usage = diskUsageProbe.measure(path);
                if (usage.usableBytes() > usage.totalBytes() * (1.0 - config.maxUsedSpaceThreshold())) {
                    return path;
                }
                refused.add(String.format(Locale.ROOT, "%s (%.1f%% used)", path, usage.usedFraction() * 100));
            }
            catch (IOException | RuntimeException e) {
                log.warn("Cannot measure the disk of spill path {}; not spilling there: {}", path, e.toString());
                refused.add(path + " (disk usage unreadable: " + e.getMessage() + ")");
            }
        }
        throw new MemoryLimitExceededException(ErrorCode.EXCEEDED_SPILL_LIMIT, String.format(Locale.ROOT,
                "No spill space available: spiller-max-used-space-threshold is %.1f%% and the disk of every spill path is used above it: %s",
                config.maxUsedSpaceThreshold() * 100, String.join(", ", refused)));
    }

    private void deleteFiles(QuerySpill query)
    {
        List<SpillFile> files;
        synchronized (lock) {
            files = new ArrayList<>(query.files);
        }
        for (SpillFile file : files) {
            file.close();
        }
        // the key becomes garbage; SecretKeySpec cannot be destroyed in place
        query.key = null;
    }

    private void checkNotFailed(QueryId queryId, TaskId taskId)
    {
        synchronized (lock) {
            if (isFailed(queryId, taskId)) {
                throw new IllegalStateException(taskId == null || failedQueries.contains(queryId)
                        ? "Query " + queryId + " failed; it may not spill any more"
                        : "Task " + taskId + " failed; it may not spill any more");
            }
        }
    }

    // guarded by lock
    private boolean isFailed(QueryId queryId, TaskId taskId)
    {
        return failedQueries.contains(queryId) || (taskId != null && failedTasks.contains(taskId));
    }

    private void checkNotClosed()
    {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("SpillFileManager is closed");
            }
        }
    }

    private static int deleteLeftovers(List<Path> paths)
    {
        int deleted = 0;
        for (Path path : paths) {
            try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(path, FILE_GLOB)) {
                for (Path leftover : leftovers) {
                    if (!LIVE_FILES.contains(leftover) && Files.isRegularFile(leftover) && deleteQuietly(leftover)) {
                        deleted++;
                    }
                }
            }
            catch (IOException e) {
                throw new UncheckedIOException("Cannot list spill path " + path, e);
            }
        }
        if (deleted > 0) {
            log.info("Deleted {} leftover spill files of a previous run from {}", deleted, paths);
        }
        return deleted;
    }

    static boolean deleteQuietly(Path path)
    {
        try {
            return Files.deleteIfExists(path);
        }
        catch (IOException e) {
            log.warn("Cannot delete spill file {}", path, e);
            return false;
        }
    }

    /** Opens a spill file's channel. */
    @FunctionalInterface
    interface ChannelOpener
    {
        FileChannel open(Path path, OpenOption... options)
                throws IOException;
    }

    /** One query's spill state on this node. */
    static final class QuerySpill
    {
        final QueryId queryId;
        // guarded by the manager's lock
        final Set<SpillFile> files = new LinkedHashSet<>();
        long bytes;
        // written under the manager's lock, read by files without it
        volatile boolean released;
        // null without encryption, and after release
        volatile SecretKey key;

        QuerySpill(QueryId queryId, SecretKey key)
        {
            this.queryId = requireNonNull(queryId, "queryId is null");
            this.key = key;
        }
    }
}
