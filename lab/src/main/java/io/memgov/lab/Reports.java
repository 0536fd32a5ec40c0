package io.memgov.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.memgov.lab.RunResult.Heap;
import io.memgov.lab.RunResult.HeapSample;
import io.memgov.lab.RunResult.Kill;
import io.memgov.lab.RunResult.QueryResult;
import io.memgov.lab.RunResult.Sample;
import io.memgov.lab.RunResult.Totals;
import io.memgov.spi.PolicyFamily;
import io.memgov.spi.policy.DataSizes;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * What the lab writes besides its standard output: {@code --json} results, and the {@code --report} directory with
 * PNG charts (XChart) and an HTML page that shows them with the tables.
 */
final class Reports
{
    static final String RUN_CHART = "pool-use.png";
    static final String HEAP_CHART = "heap.png";
    static final String COMPARE_CHART = "compare.png";
    static final String PAGE = "index.html";
    private static final double MB = 1024.0 * 1024.0;

    private Reports() {}

    static ObjectMapper json()
    {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    /** Writes one run (queries, totals, timeline, kills) as JSON. */
    static void writeJson(Path file, Object value, String option)
    {
        try {
            createParent(file);
            json().writeValue(file.toFile(), value);
        }
        catch (IOException e) {
            throw new BadInputException("Cannot write " + option + " file '" + file + "': " + e.getMessage());
        }
    }

    /** Writes {@code pool-use.png} and {@code index.html} into {@code directory}; returns the page. */
    static Path writeRunReport(Path directory, RunResult run, String title)
    {
        createDirectory(directory);
        writePng(runChart(run, title), directory.resolve(RUN_CHART));
        StringBuilder html = page(title);
        html.append("<img src=\"").append(RUN_CHART).append("\" alt=\"pool use per node over time\">\n");
        html.append("<p>Pool use is per node, against each node's pool maximum; ").append(escape(RunCommand.OVER_COMMIT))
                .append(". A query's peak is summed over its nodes.</p>\n");
        writePng(heapChart(run, title + ": the real heap"), directory.resolve(HEAP_CHART));
        html.append("<img src=\"").append(HEAP_CHART).append("\" alt=\"live heap after each collection, tracked memory and effective pool maximum over time\">\n");
        html.append("<h2>Totals</h2>\n").append(totalsTable(List.of(run)));
        html.append("<h2>Heap</h2>\n").append(heapTable(run.heap()));
        if (!run.processes().isEmpty()) {
            html.append("<h2>Worker JVMs</h2>\n").append(processesTable(run));
        }
        html.append("<h2>Queries</h2>\n").append(queriesTable(run));
        html.append("<h2>Configuration</h2>\n").append(settingsTable(List.of(run)));
        if (!run.kills().isEmpty()) {
            html.append("<h2>Kills</h2>\n<table><tr><th>time</th><th>query</th><th>tasks</th><th>error</th></tr>\n");
            for (Kill kill : run.kills()) {
                html.append(row(String.format(Locale.ROOT, "%.1fs", kill.millis() / 1000.0), kill.queryId(),
                        kill.tasks().isEmpty() ? "whole query" : String.join(", ", kill.tasks()), kill.errorCode()));
            }
            html.append("</table>\n");
        }
        return writePage(directory, html);
    }

    /** Writes {@code compare.png} and {@code index.html} comparing several runs of one workload. */
    static Path writeCompareReport(Path directory, List<RunResult> runs, String title)
    {
        return writeCompareReport(directory, runs, title, null);
    }

    /** The same, with {@code summary} (the {@code --repeat} table as printed; null for none) shown above the runs. */
    static Path writeCompareReport(Path directory, List<RunResult> runs, String title, String summary)
    {
        createDirectory(directory);
        writePng(compareChart(runs, title), directory.resolve(COMPARE_CHART));
        StringBuilder html = page(title);
        html.append("<img src=\"").append(COMPARE_CHART).append("\" alt=\"cluster pool use over time, one line per run\">\n");
        if (summary != null) {
            html.append("<h2>Summary</h2>\n<pre>").append(escape(summary)).append("</pre>\n");
        }
        html.append("<h2>Runs</h2>\n").append(totalsTable(runs));
        html.append("<h2>Configuration</h2>\n").append(settingsTable(runs));
        for (RunResult run : runs) {
            html.append("<h2>").append(escape(run.label())).append("</h2>\n");
            if (!run.processes().isEmpty()) {
                html.append(processesTable(run));
            }
            html.append(queriesTable(run));
        }
        return writePage(directory, html);
    }

    /**
     * Pool use per node over time (user and revocable together, the revocable part dotted when there is any), the
     * pool's maximum per node dashed, a red line at every kill with the query's id, and markers where a node's spill
     * files grew and where the arbitration planned.
     */
    static XYChart runChart(RunResult run, String title)
    {
        XYChart chart = new XYChartBuilder().width(1000).height(500).title(title)
                .xAxisTitle("seconds").yAxisTitle("pool use per node (MB)").build();
        style(chart);
        List<Sample> timeline = run.timeline().isEmpty() ? List.of(new Sample(0, new long[run.nodes().size()], new long[run.nodes().size()])) : run.timeline();
        double[] seconds = timeline.stream().mapToDouble(sample -> sample.millis() / 1000.0).toArray();
        boolean revocable = timeline.stream().anyMatch(sample -> java.util.Arrays.stream(sample.revocableBytes()).anyMatch(bytes -> bytes > 0));
        double top = run.poolBytes() / MB;
        for (int node = 0; node < run.nodes().size(); node++) {
            int index = node;
            Color color = PALETTE[node % PALETTE.length];
            double[] used = timeline.stream().mapToDouble(sample -> sample.reservedBytes()[index] / MB).toArray();
            top = Math.max(top, java.util.Arrays.stream(used).max().orElse(0));
            XYSeries total = chart.addSeries(run.nodes().get(node), seconds, used);
            total.setLineColor(color);
            total.setMarker(SeriesMarkers.NONE);
            if (revocable) {
                XYSeries part = chart.addSeries(run.nodes().get(node) + " revocable", seconds,
                        timeline.stream().mapToDouble(sample -> sample.revocableBytes()[index] / MB).toArray());
                part.setLineColor(color);
                part.setMarker(SeriesMarkers.NONE);
                part.setLineStyle(DOTTED);
                // one legend entry says what dotted means, for every node: the legend stays one row
                part.setShowInLegend(false);
            }
        }
        if (revocable) {
            XYSeries legend = chart.addSeries("of which revocable (dotted)", new double[] {0}, new double[] {0});
            legend.setLineColor(Color.GRAY);
            legend.setLineStyle(DOTTED);
            legend.setMarker(SeriesMarkers.NONE);
        }
        double last = Math.max(seconds[seconds.length - 1], 0.001);
        XYSeries max = chart.addSeries("pool max per node", new double[] {0, last}, new double[] {run.poolBytes() / MB, run.poolBytes() / MB});
        dashed(max, Color.GRAY);
        max.setMarker(SeriesMarkers.NONE);
        // headroom above the highest line for the kills' labels
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(top * 1.15);
        addEventMarkers(chart, "spill files grew", spillMillis(timeline), top * 0.02, SeriesMarkers.TRIANGLE_UP, Color.DARK_GRAY);
        addEventMarkers(chart, "arbitration", arbitrationMillis(timeline), top * 0.06, SeriesMarkers.SQUARE, new Color(0x8c, 0x56, 0x4b));
        if (!run.kills().isEmpty()) {
            double[] killSeconds = run.kills().stream().mapToDouble(kill -> kill.millis() / 1000.0).toArray();
            double[] killHeights = new double[killSeconds.length];
            java.util.Arrays.fill(killHeights, run.poolBytes() / MB);
            XYSeries kills = chart.addSeries("kill", killSeconds, killHeights);
            kills.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            kills.setMarker(SeriesMarkers.DIAMOND);
            kills.setMarkerColor(Color.RED);
            chart.getStyler().setAnnotationLineColor(Color.RED);
            chart.getStyler().setAnnotationTextFontColor(Color.RED);
            chart.getStyler().setAnnotationTextFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.BOLD, 12));
            List<String> labels = killLabels(run);
            for (int i = 0; i < run.kills().size(); i++) {
                chart.addAnnotation(new AnnotationLine(killSeconds[i], true, false));
                // staggered, so that kills close in time keep readable labels
                chart.addAnnotation(new AnnotationText(labels.get(i), killSeconds[i], top * (i % 2 == 0 ? 1.1 : 1.04), false));
            }
        }
        return chart;
    }

    /** The label of each kill's line, in kill order: the query's id, and {@code tasks} when only some of its tasks were killed. */
    static List<String> killLabels(RunResult run)
    {
        return run.kills().stream().map(kill -> kill.queryId() + (kill.tasks().isEmpty() ? "" : " tasks")).toList();
    }

    /** The moments a node's spill files grew: its bytes ever written went up since the sample before. */
    static List<Long> spillMillis(List<Sample> timeline)
    {
        List<Long> moments = new ArrayList<>();
        long before = 0;
        for (Sample sample : timeline) {
            long spilled = java.util.Arrays.stream(sample.spilledBytes()).sum();
            if (spilled > before) {
                moments.add(sample.millis());
            }
            before = spilled;
        }
        return moments;
    }

    /** The moments the cluster's arbitration had planned since the sample before. */
    static List<Long> arbitrationMillis(List<Sample> timeline)
    {
        List<Long> moments = new ArrayList<>();
        long before = 0;
        for (Sample sample : timeline) {
            if (sample.arbitrations() > before) {
                moments.add(sample.millis());
            }
            before = sample.arbitrations();
        }
        return moments;
    }

    private static void addEventMarkers(XYChart chart, String name, List<Long> millis, double height, org.knowm.xchart.style.markers.Marker marker, Color color)
    {
        if (millis.isEmpty()) {
            return;
        }
        double[] heights = new double[millis.size()];
        java.util.Arrays.fill(heights, height);
        XYSeries series = chart.addSeries(name, millis.stream().mapToDouble(at -> at / 1000.0).toArray(), heights);
        series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        series.setMarker(marker);
        series.setMarkerColor(color);
    }

    // a legend under the plot, in one row where it fits, so that the plot keeps the width
    private static void style(XYChart chart)
    {
        chart.getStyler().setMarkerSize(8);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        chart.getStyler().setLegendFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 11));
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
    }

    private static final BasicStroke DOTTED = new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {2f, 3f}, 0f);

    private static final Color[] PALETTE = {
            new Color(0x1f, 0x77, 0xb4), new Color(0xff, 0x7f, 0x0e), new Color(0x2c, 0xa0, 0x2c), new Color(0x94, 0x67, 0xbd),
            new Color(0x17, 0xbe, 0xcf), new Color(0xbc, 0xbd, 0x22), new Color(0xe3, 0x77, 0xc2), new Color(0x7f, 0x7f, 0x7f)};

    /**
     * The real heap over time, all nodes together: the live heap after the last collection, what the pools held at
     * that collection, and the nodes' effective pool maxima (their pools less the heap nobody tracked); the max heap
     * and the pools as configured dashed.
     */
    static XYChart heapChart(RunResult run, String title)
    {
        XYChart chart = new XYChartBuilder().width(1000).height(400).title(title)
                .xAxisTitle("seconds").yAxisTitle("heap (MB)").build();
        chart.getStyler().setMarkerSize(0);
        List<HeapSample> timeline = run.heapTimeline().isEmpty() ? List.of(new HeapSample(0, 0, 0, 0, run.heap().poolBytes())) : run.heapTimeline();
        double[] seconds = timeline.stream().mapToDouble(sample -> sample.millis() / 1000.0).toArray();
        chart.addSeries("live heap after GC", seconds, timeline.stream().mapToDouble(sample -> sample.liveBytes() / MB).toArray());
        chart.addSeries("tracked at that GC", seconds, timeline.stream().mapToDouble(sample -> sample.trackedBytes() / MB).toArray());
        chart.addSeries("effective pool maximum", seconds, timeline.stream().mapToDouble(sample -> sample.effectiveMaxBytes() / MB).toArray());
        double last = Math.max(seconds[seconds.length - 1], 0.001);
        dashed(chart.addSeries("max heap", new double[] {0, last}, new double[] {run.heap().maxHeapBytes() / MB, run.heap().maxHeapBytes() / MB}), Color.DARK_GRAY);
        dashed(chart.addSeries("pools as configured", new double[] {0, last}, new double[] {run.heap().poolBytes() / MB, run.heap().poolBytes() / MB}), Color.GRAY);
        return chart;
    }

    private static void dashed(XYSeries series, Color color)
    {
        series.setLineColor(color);
        series.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 6f}, 0f));
    }

    /** The run's heap figures as rows of label and value. */
    static Map<String, String> heapRows(Heap heap)
    {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("max heap", DataSizes.succinct(heap.maxHeapBytes()));
        rows.put("pools as configured", DataSizes.succinct(heap.poolBytes()) + (heap.governed() ? "" : " (not governing the heap)"));
        rows.put("peak live heap after GC", DataSizes.succinct(heap.peakLiveBytes()));
        rows.put("peak tracked at a GC", DataSizes.succinct(heap.peakTrackedBytes()));
        rows.put("peak untracked", DataSizes.succinct(heap.peakUntrackedBytes()));
        rows.put("least effective pool maximum", DataSizes.succinct(heap.leastEffectiveMaxBytes()));
        rows.put("collections (young / full)", heap.youngCollections() + " / " + heap.fullCollections());
        rows.put("heap-pressure kills", Long.toString(heap.queriesKilledDueToHeapPressure()));
        rows.put("JVM OutOfMemoryErrors thrown", heap.outOfMemoryErrorsThrown() < 0 ? "unknown" : Long.toString(heap.outOfMemoryErrorsThrown()));
        return rows;
    }

    private static String heapTable(Heap heap)
    {
        StringBuilder html = new StringBuilder("<table>\n");
        heapRows(heap).forEach((name, value) -> html.append(row(name, value)));
        return html.append("</table>\n").toString();
    }

    /**
     * Cluster pool use (every node summed) over time, one line per run named by its value and its kills, and the
     * cluster's pool maximum (every node's summed) dashed: one line, or one per run when the runs' pools differ.
     */
    static XYChart compareChart(List<RunResult> runs, String title)
    {
        XYChart chart = new XYChartBuilder().width(1000).height(500).title(title)
                .xAxisTitle("seconds").yAxisTitle("pool use, all nodes (MB)").build();
        style(chart);
        String prefix = commonKeyPrefix(runs);
        double last = 0.001;
        for (int i = 0; i < runs.size(); i++) {
            RunResult run = runs.get(i);
            List<Sample> timeline = run.timeline().isEmpty() ? List.of(new Sample(0, new long[1], new long[1])) : run.timeline();
            double[] seconds = timeline.stream().mapToDouble(sample -> sample.millis() / 1000.0).toArray();
            double[] used = timeline.stream().mapToDouble(sample -> java.util.Arrays.stream(sample.reservedBytes()).sum() / MB).toArray();
            last = Math.max(last, seconds[seconds.length - 1]);
            String name = run.label().substring(prefix.length()) + " (" + run.totals().killed() + " killed, " + run.totals().failed() + " failed)";
            // XChart needs unique names; a comparison's labels are, runs put together by hand may not be
            XYSeries series = chart.addSeries(chart.getSeriesMap().containsKey(name) ? name + " #" + (i + 1) : name, seconds, used);
            series.setLineColor(PALETTE[i % PALETTE.length]);
            series.setMarker(SeriesMarkers.NONE);
        }
        List<Long> maxima = runs.stream().map(run -> run.poolBytes() * run.nodes().size()).distinct().toList();
        for (int i = 0; i < runs.size() && i < (maxima.size() == 1 ? 1 : runs.size()); i++) {
            RunResult run = runs.get(i);
            double max = run.poolBytes() * run.nodes().size() / MB;
            XYSeries line = chart.addSeries(maxima.size() == 1 ? "pool max, all nodes" : "pool max, " + run.label().substring(prefix.length()),
                    new double[] {0, last}, new double[] {max, max});
            dashed(line, maxima.size() == 1 ? Color.GRAY : PALETTE[i % PALETTE.length]);
            line.setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    /** {@code KEY=} when every run's label starts with it, as a comparison's do; the legend names the values only. */
    private static String commonKeyPrefix(List<RunResult> runs)
    {
        String first = runs.isEmpty() ? "" : runs.get(0).label();
        int equals = first.indexOf('=');
        String prefix = equals < 0 ? "" : first.substring(0, equals + 1);
        return runs.stream().allMatch(run -> run.label().startsWith(prefix)) ? prefix : "";
    }

    /** The side-by-side rows {@code compare} prints and the HTML page shows: one column per run. */
    static Map<String, Function<Totals, String>> totalsRows()
    {
        Map<String, Function<Totals, String>> rows = new LinkedHashMap<>();
        rows.put("finished", totals -> Integer.toString(totals.finished()));
        rows.put("killed", totals -> Integer.toString(totals.killed()));
        rows.put("failed", totals -> Integer.toString(totals.failed()));
        rows.put("wrong results", totals -> Integer.toString(totals.wrongResults()));
        rows.put("wasted work (CPU)", totals -> millis(totals.wastedCpuNanos() / 1_000_000));
        rows.put("peak pool use (largest node)", totals -> DataSizes.succinct(totals.peakPoolBytes()));
        rows.put("spilled", totals -> DataSizes.succinct(totals.spilledBytes()));
        rows.put("reserved after run", totals -> DataSizes.succinct(totals.reservedBytesAfterRun()));
        rows.put("spill files left", totals -> Integer.toString(totals.spillFilesLeft()));
        rows.put("JVM OutOfMemoryErrors", totals -> Integer.toString(totals.jvmOutOfMemoryErrors()));
        rows.put("wall time", totals -> millis(totals.wallMillis()));
        return rows;
    }

    static String millis(long millis)
    {
        return millis < 1000 ? millis + "ms" : String.format(Locale.ROOT, "%.2fs", millis / 1000.0);
    }

    private static String totalsTable(List<RunResult> runs)
    {
        StringBuilder html = new StringBuilder("<table><tr><th></th>");
        runs.forEach(run -> html.append("<th>").append(escape(run.label())).append("</th>"));
        html.append("</tr>\n");
        totalsRows().forEach((name, value) -> {
            List<String> cells = new ArrayList<>(List.of(name));
            runs.forEach(run -> cells.add(value.apply(run.totals())));
            html.append(row(cells.toArray(String[]::new)));
        });
        return html.append("</table>\n").toString();
    }

    /** One row per worker JVM of {@code run --processes}: its heap figures and how it ended. */
    private static String processesTable(RunResult run)
    {
        StringBuilder html = new StringBuilder("<table><tr><th>node</th><th>pid</th><th>-Xmx</th><th>peak heap</th><th>peak untracked</th>"
                + "<th>young GCs</th><th>full GCs</th><th>GC time</th><th>OutOfMemoryErrors</th><th>end</th></tr>\n");
        for (RunResult.WorkerFigures process : run.processes()) {
            html.append(row(process.node(), Long.toString(process.pid()), DataSizes.succinct(process.maxHeapBytes()),
                    DataSizes.succinct(process.peakHeapBytes()), DataSizes.succinct(process.peakUntrackedBytes()),
                    Long.toString(process.youngCollections()), Long.toString(process.fullCollections()), millis(process.gcMillis()),
                    Integer.toString(process.jvmOutOfMemoryErrors()), process.end()));
        }
        return html.append("</table>\n").toString();
    }

    private static String queriesTable(RunResult run)
    {
        StringBuilder html = new StringBuilder("<table><tr><th>query</th><th>user</th><th>operator</th><th>status</th><th>error</th>"
                + "<th>peak (all nodes)</th><th>spilled</th><th>CPU</th><th>result</th><th>why it ended</th><th>message</th></tr>\n");
        for (QueryResult query : run.queries()) {
            html.append(row(query.id(), query.user(), query.operator(), query.status().name(), query.errorCode(),
                    DataSizes.succinct(query.peakBytes()), DataSizes.succinct(query.spilledBytes()), millis(query.cpuNanos() / 1_000_000),
                    resultText(query), outcome(run, query), query.message()));
        }
        return html.append("</table>\n").toString();
    }

    /** The width the lab's text output keeps to. */
    static final int COLUMNS = 80;

    /**
     * Why a query that did not finish ended, e.g. {@code killed by total-reservation: CLUSTER_OUT_OF_MEMORY} or
     * {@code failed: STALLED (the lab's watchdog: ...)}; empty for a finished query.
     */
    static String outcome(RunResult run, QueryResult query)
    {
        String code = query.errorCode();
        RunResult.Settings settings = run.settings();
        if (query.status() == RunResult.Status.FINISHED) {
            return "";
        }
        if (query.status() == RunResult.Status.KILLED) {
            boolean tasks = run.kills().stream().filter(kill -> kill.queryId().equals(query.id())).findFirst().map(kill -> !kill.tasks().isEmpty()).orElse(false);
            String by = switch (code) {
                case "CLUSTER_OUT_OF_MEMORY" -> tasks ? "task killer " + settings.policy(PolicyFamily.TASK_KILLER) : settings.policy(PolicyFamily.QUERY_KILLER);
                case "MEMORY_ARBITRATION_FAILED" -> "arbitrator " + settings.policy(PolicyFamily.ARBITRATOR);
                case "EXCEEDED_HEAP_MEMORY_LIMIT" -> "the GC-pressure response";
                case "KILLED_BY_OVERCOMMIT" -> "tracker " + settings.policy(PolicyFamily.TRACKER);
                default -> "memgov";
            };
            return "killed by " + by + ": " + code;
        }
        String reason = switch (code) {
            case WorkloadRunner.STALLED -> "the lab's watchdog: every running query waited " + WorkloadRunner.STALL_MILLIS / 1000
                    + "s for memory and nothing was killed";
            case WorkloadRunner.JVM_OUT_OF_MEMORY -> "a JVM OutOfMemoryError on its threads";
            case WorkloadRunner.INTERNAL_ERROR -> "the lab failed running it";
            case "EXCEEDED_LOCAL_MEMORY_LIMIT" -> "over query.max-memory-per-node, " + DataSizes.succinct(settings.queryMaxMemoryPerNodeBytes());
            case "EXCEEDED_GLOBAL_MEMORY_LIMIT" -> "over query.max-memory, " + DataSizes.succinct(settings.queryMaxMemoryBytes()) + ", all nodes";
            case "EXCEEDED_REVOCABLE_MEMORY_LIMIT" -> "over query.max-revocable-memory-per-node";
            case "EXCEEDED_SPILL_LIMIT" -> "over a spill limit, or no disk to spill to";
            case "NODE_LOST" -> "a node it ran on left the cluster";
            default -> "";
        };
        return "failed: " + (code.isEmpty() ? "?" : code) + (reason.isEmpty() ? "" : " (" + reason + ")");
    }

    /**
     * The queries that did not finish, those that ended alike on one line ({@code q1, q4 killed by ...}), wrapped to
     * {@link #COLUMNS}; empty when every query finished.
     */
    static List<String> outcomeLines(RunResult run)
    {
        Map<String, List<String>> byOutcome = new LinkedHashMap<>();
        for (QueryResult query : run.queries()) {
            if (query.status() != RunResult.Status.FINISHED) {
                byOutcome.computeIfAbsent(outcome(run, query), ignored -> new ArrayList<>()).add(query.id());
            }
        }
        List<String> lines = new ArrayList<>();
        byOutcome.forEach((outcome, ids) -> lines.addAll(wrap(String.join(", ", ids) + " " + outcome, "  ", "      ")));
        return lines;
    }

    /** {@code text} in lines of at most {@link #COLUMNS}, broken at spaces; a word longer than a line stays whole. */
    static List<String> wrap(String text, String indent, String continuation)
    {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder(indent);
        boolean empty = true;
        for (String word : text.split(" ")) {
            if (!empty && line.length() + 1 + word.length() > COLUMNS) {
                lines.add(line.toString());
                line = new StringBuilder(continuation);
                empty = true;
            }
            if (!empty) {
                line.append(' ');
            }
            line.append(word);
            empty = false;
        }
        lines.add(line.toString());
        return lines;
    }

    /** Every property in force, one column of values per run, and where each run's value came from. */
    private static String settingsTable(List<RunResult> runs)
    {
        java.util.SortedSet<String> keys = new java.util.TreeSet<>();
        runs.forEach(run -> keys.addAll(run.settings().properties().keySet()));
        StringBuilder html = new StringBuilder("<table><tr><th>property</th>");
        runs.forEach(run -> html.append("<th>").append(escape(run.label())).append("</th><th>set by</th>"));
        html.append("</tr>\n");
        for (String key : keys) {
            List<String> cells = new ArrayList<>(List.of(key));
            for (RunResult run : runs) {
                cells.add(run.settings().properties().getOrDefault(key, ""));
                cells.add(run.settings().sources().getOrDefault(key, ""));
            }
            html.append(row(cells.toArray(String[]::new)));
        }
        html.append("</table>\n<table><tr><th>policy family</th>");
        runs.forEach(run -> html.append("<th>").append(escape(run.label())).append("</th>"));
        html.append("</tr>\n");
        java.util.SortedSet<String> families = new java.util.TreeSet<>();
        runs.forEach(run -> families.addAll(run.settings().policies().keySet()));
        for (String family : families) {
            List<String> cells = new ArrayList<>(List.of(family));
            runs.forEach(run -> cells.add(run.settings().policies().getOrDefault(family, "")));
            html.append(row(cells.toArray(String[]::new)));
        }
        return html.append("</table>\n").toString();
    }

    static String resultText(QueryResult query)
    {
        if (query.status() != RunResult.Status.FINISHED) {
            return "-";
        }
        return query.verified() ? "verified" : "WRONG";
    }

    private static StringBuilder page(String title)
    {
        return new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(escape(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
                        + "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}img{max-width:100%}</style></head><body>\n")
                .append("<h1>").append(escape(title)).append("</h1>\n");
    }

    private static Path writePage(Path directory, StringBuilder html)
    {
        html.append("</body></html>\n");
        Path page = directory.resolve(PAGE);
        try {
            Files.writeString(page, html);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + page, e);
        }
        return page;
    }

    private static String row(String... cells)
    {
        StringBuilder row = new StringBuilder("<tr>");
        for (String cell : cells) {
            row.append("<td>").append(escape(cell)).append("</td>");
        }
        return row.append("</tr>\n").toString();
    }

    static String escape(String text)
    {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** {@code run --png}: the run's chart alone, as a PNG file named exactly {@code file}. */
    static void writeRunPng(Path file, RunResult run, String title)
    {
        writePng(runChart(run, title), file);
    }

    /** {@code compare --png}: the comparison's chart alone. */
    static void writeComparePng(Path file, List<RunResult> runs, String title)
    {
        writePng(compareChart(runs, title), file);
    }

    // rendered with Java2D (headless) by XChart, encoded by javax.imageio
    private static void writePng(XYChart chart, Path file)
    {
        try (java.io.OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write chart " + file, e);
        }
    }

    private static void createDirectory(Path directory)
    {
        try {
            Files.createDirectories(directory);
        }
        catch (IOException e) {
            throw new BadInputException("Cannot create --report directory '" + directory + "': " + e.getMessage());
        }
    }

    private static void createParent(Path file)
            throws IOException
    {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }
}
