import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.FileWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/**
 * B3 reference: borrow + return cycles per second of HikariCP (2.7.9 from Debian) over
 * do-nothing connections (NoopJdbcDriver). A pool of 8 (maximumPoolSize = minimumIdle = 8);
 * for each thread count T, T platform threads loop getConnection() + close() for a fixed time,
 * after a warm-up at the same T that lets the JIT compile the pool's paths. One fresh pool per T.
 * Prints a table and appends CSV rows B3,cycle,hikaricp,T,cycles_per_s|ns_per_cycle,... with
 * --csv. ns_per_cycle is wall time per completed cycle of the whole pool (1e9 / cycles_per_s).
 * Benchmark only: it asserts nothing about speed. Exit code 1 if a borrow fails, 2 on bad options.
 */
public final class HikariCycleBench {
  private static final int WARMING = 0;
  private static final int MEASURING = 1;
  private static final int STOPPED = 2;

  /** What one run at one thread count measured. */
  private record Result(int threads, long cycles, double seconds) {
    double cyclesPerSecond() {
      return cycles / seconds;
    }

    double nsPerCycle() {
      return cycles == 0 ? 0 : seconds * 1e9 / cycles;
    }
  }

  private record Settings(List<Integer> threads, double seconds, double warmup, int poolSize,
      String csv) {}

  public static void main(String[] args) {
    Settings settings;
    try {
      settings = parse(args);
    } catch (ParseException | IllegalArgumentException e) {
      System.err.println("hikari bench: " + e.getMessage());
      new HelpFormatter().printHelp("run.sh [build dir] [options]", options());
      System.exit(2);
      return;
    }
    if (settings == null) return; // --help
    try {
      run(settings);
    } catch (Exception e) {
      System.err.println("hikari bench: " + e);
      System.exit(1);
    }
  }

  private static Options options() {
    Options options = new Options();
    options.addOption(Option.builder().longOpt("threads").hasArg().argName("list")
        .desc("thread counts, comma separated (default 8,32,64,1000,10000)").build());
    options.addOption(Option.builder().longOpt("seconds").hasArg().argName("s")
        .desc("measured time per thread count (default 3)").build());
    options.addOption(Option.builder().longOpt("warmup").hasArg().argName("s")
        .desc("warm-up time per thread count, not measured (default 1)").build());
    options.addOption(Option.builder().longOpt("pool").hasArg().argName("n")
        .desc("maximumPoolSize and minimumIdle (default 8)").build());
    options.addOption(Option.builder().longOpt("csv").hasArg().argName("path")
        .desc("append CSV rows to this file").build());
    options.addOption(Option.builder().longOpt("help").desc("this text").build());
    return options;
  }

  private static Settings parse(String[] args) throws ParseException {
    CommandLine line = new DefaultParser().parse(options(), args);
    if (line.hasOption("help")) {
      new HelpFormatter().printHelp("run.sh [build dir] [options]", options());
      return null;
    }
    if (!line.getArgList().isEmpty()) {
      throw new IllegalArgumentException("unexpected argument '" + line.getArgList().get(0) + "'");
    }
    List<Integer> threads = new ArrayList<>();
    for (String item : line.getOptionValue("threads", "8,32,64,1000,10000").split(",", -1)) {
      threads.add(positiveInt("--threads", item));
    }
    return new Settings(threads, positiveSeconds("--seconds", line.getOptionValue("seconds", "3")),
        nonNegativeSeconds("--warmup", line.getOptionValue("warmup", "1")),
        positiveInt("--pool", line.getOptionValue("pool", "8")), line.getOptionValue("csv"));
  }

  private static int positiveInt(String name, String text) {
    try {
      int value = Integer.parseInt(text.trim());
      if (value > 0) return value;
    } catch (NumberFormatException e) {
      // reported below with the option's name
    }
    throw new IllegalArgumentException(name + " takes positive integers, got '" + text + "'");
  }

  private static double nonNegativeSeconds(String name, String text) {
    try {
      double value = Double.parseDouble(text);
      if (value >= 0 && value < 86400) return value;
    } catch (NumberFormatException e) {
      // reported below with the option's name
    }
    throw new IllegalArgumentException(name + " takes seconds (a number >= 0), got '" + text + "'");
  }

  private static double positiveSeconds(String name, String text) {
    double value = nonNegativeSeconds(name, text);
    if (value == 0) throw new IllegalArgumentException(name + " must be above 0");
    return value;
  }

  private static void run(Settings settings) throws Exception {
    System.out.printf(Locale.ROOT, "HikariCP %s, do-nothing JDBC driver, maximumPoolSize = minimumIdle = %d, "
            + "%.1f s warm-up + %.1f s measured per thread count, %d cores%n",
        hikariVersion(), settings.poolSize(), settings.warmup(), settings.seconds(),
        Runtime.getRuntime().availableProcessors());
    System.out.printf(Locale.ROOT, "%8s %14s %12s %12s%n", "threads", "cycles/s", "ns/cycle", "cycles");
    for (int threads : settings.threads()) {
      Result result = measure(settings, threads);
      System.out.printf(Locale.ROOT, "%8d %14.0f %12.1f %12d%n", threads, result.cyclesPerSecond(),
          result.nsPerCycle(), result.cycles());
      if (settings.csv() != null) appendCsv(settings.csv(), result);
    }
  }

  /** From the jar's Maven metadata: Debian's manifest carries no Implementation-Version. */
  private static String hikariVersion() {
    String resource = "/META-INF/maven/com.zaxxer/HikariCP/pom.properties";
    try (InputStream in = HikariDataSource.class.getResourceAsStream(resource)) {
      if (in == null) return "(unknown version)";
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version", "(unknown version)");
    } catch (IOException e) {
      return "(unknown version)";
    }
  }

  private static HikariDataSource openPool(Settings settings) {
    HikariConfig config = new HikariConfig();
    config.setPoolName("noop");
    config.setDriverClassName(NoopJdbcDriver.class.getName());
    config.setJdbcUrl(NoopJdbcDriver.URL);
    config.setMaximumPoolSize(settings.poolSize());
    config.setMinimumIdle(settings.poolSize());
    // A borrower may wait behind thousands of others; a timeout would be a failed borrow, not a
    // figure, so the limit is only a hang guard well past the run's length.
    config.setConnectionTimeout((long) ((settings.warmup() + settings.seconds()) * 1000) + 60_000);
    return new HikariDataSource(config);
  }

  private static Result measure(Settings settings, int threadCount) throws Exception {
    try (HikariDataSource pool = openPool(settings)) {
      LongAdder cycles = new LongAdder();
      AtomicReference<SQLException> failure = new AtomicReference<>();
      CountDownLatch ready = new CountDownLatch(threadCount);
      CountDownLatch go = new CountDownLatch(1);
      Phase shared = new Phase();
      List<Thread> threads = new ArrayList<>(threadCount);
      for (int i = 0; i < threadCount; i++) {
        Runnable borrower = () -> borrowLoop(pool, shared, cycles, failure, ready, go);
        // Small stacks: 10,000 threads at the default 1 MiB would reserve 10 GiB.
        Thread thread = new Thread(null, borrower, "borrower-" + i, 256 * 1024);
        thread.setDaemon(true);
        thread.start();
        threads.add(thread);
      }
      ready.await();
      go.countDown();
      Thread.sleep((long) (settings.warmup() * 1000));
      long started = System.nanoTime();
      shared.value = MEASURING;
      Thread.sleep((long) (settings.seconds() * 1000));
      shared.value = STOPPED;
      long stopped = System.nanoTime();
      for (Thread thread : threads) thread.join();
      if (failure.get() != null) throw failure.get();
      return new Result(threadCount, cycles.sum(), (stopped - started) / 1e9);
    }
  }

  /** The run's phase, read by every borrower after each cycle. */
  private static final class Phase {
    volatile int value = WARMING;
  }

  private static void borrowLoop(HikariDataSource pool, Phase phase, LongAdder cycles,
      AtomicReference<SQLException> failure, CountDownLatch ready, CountDownLatch go) {
    ready.countDown();
    try {
      go.await();
    } catch (InterruptedException e) {
      return;
    }
    long counted = 0;
    try {
      for (int now = phase.value; now != STOPPED; now = phase.value) {
        Connection connection = pool.getConnection(); // borrow
        connection.close(); // return: Hikari's proxy hands it back to the pool
        if (now == MEASURING && phase.value == MEASURING) counted++;
      }
    } catch (SQLException e) {
      failure.compareAndSet(null, e);
      phase.value = STOPPED; // the others stop too
    }
    cycles.add(counted);
  }

  private static void appendCsv(String path, Result result) throws IOException {
    try (PrintWriter out = new PrintWriter(new FileWriter(path, true))) {
      String prefix = "B3,cycle,hikaricp," + result.threads();
      out.printf(Locale.ROOT, "%s,cycles_per_s,%.0f,cycles/s%n", prefix, result.cyclesPerSecond());
      out.printf(Locale.ROOT, "%s,ns_per_cycle,%.1f,ns%n", prefix, result.nsPerCycle());
    }
  }
}
