import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverPropertyInfo;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * A JDBC driver whose connections do nothing, so that a benchmark of HikariCP measures the
 * pool's own borrow and return and nothing of a database. URL: jdbc:noop:. Every Connection
 * method returns at once: isValid() and getAutoCommit() true, getTransactionIsolation() READ
 * COMMITTED, other primitives 0/false, objects null; close() does nothing. A dynamic proxy
 * keeps it short: Connection has some fifty methods.
 */
public final class NoopJdbcDriver implements Driver {
  static final String URL = "jdbc:noop:";

  @Override
  public Connection connect(String url, Properties info) {
    if (!acceptsURL(url)) return null; // the JDBC contract: null for another driver's URL
    return (Connection) Proxy.newProxyInstance(NoopJdbcDriver.class.getClassLoader(),
        new Class<?>[] {Connection.class}, new NoopConnection());
  }

  @Override
  public boolean acceptsURL(String url) {
    return url != null && url.startsWith(URL);
  }

  @Override
  public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
    return new DriverPropertyInfo[0];
  }

  @Override
  public int getMajorVersion() {
    return 1;
  }

  @Override
  public int getMinorVersion() {
    return 0;
  }

  @Override
  public boolean jdbcCompliant() {
    return false;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException("no logging in the do-nothing driver");
  }

  /** Answers every Connection call with a harmless constant. */
  private static final class NoopConnection implements InvocationHandler {
    @Override
    public Object invoke(Object proxy, Method method, Object[] args) {
      switch (method.getName()) {
        case "isValid":
        case "getAutoCommit":
          return true;
        case "getTransactionIsolation":
          return Connection.TRANSACTION_READ_COMMITTED;
        case "hashCode":
          return System.identityHashCode(proxy);
        case "equals":
          return proxy == args[0];
        case "toString":
          return "NoopConnection@" + Integer.toHexString(System.identityHashCode(proxy));
        default:
          return zeroOf(method.getReturnType());
      }
    }

    private static Object zeroOf(Class<?> type) {
      if (type == boolean.class) return false;
      if (type == int.class) return 0;
      if (type == long.class) return 0L;
      return null; // void and every reference type
    }
  }
}
