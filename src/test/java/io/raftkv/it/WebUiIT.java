package io.raftkv.it;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The web view ({@code GET /ui}) in a real browser: headless Chromium driven by Selenium, with
 * Debian's {@code chromium} and {@code chromium-driver} (the driver's path is given, so Selenium
 * Manager never downloads anything; without them the test is skipped, saying why). On a 3-node
 * process cluster the page shows the leader, a new one once the leader is killed, the log strip
 * growing with writes, and no control buttons (their endpoints are 404); under {@code raftkv local}
 * its buttons kill, restart, cut and heal nodes. The browser's console must stay free of errors.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class WebUiIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** The page follows the cluster within a few of its updates (4 a second) plus an election. */
    private static final Duration PAGE_WAIT = Duration.ofSeconds(15);

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private ChromeDriverService service;
    private ChromeDriver driver;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void startBrowser() {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver):"
                        + " apt-get install -y chromium chromium-driver (.ci/run does)");
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort()
                .withLogFile(ItEnv.targetDir().resolve("webui-chromedriver.log").toFile()).build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        driver = new ChromeDriver(service, options);
    }

    @AfterEach
    void stop() {
        if (driver != null) driver.quit();
        if (service != null) service.stop();
        procs.close();
        http.close();
    }

    @Test
    @DisplayName("the page shows the leader, a new one after a kill, the log growing with writes; no controls outside raftkv local")
    void followsFailoverAndWrites() throws Exception {
        try (ProcessCluster cluster = new ProcessCluster(procs, ItEnv.newLogDir("it-webui-"), 3, WAIT)) {
            ProcessCluster.Leader leader = cluster.start();
            int served = (leader.id() + 1) % 3;
            driver.get("http://" + cluster.address(served) + "/ui");
            awaitPage("the page to show node " + leader.id() + " as leader", () -> leaderShown().equals(String.valueOf(leader.id())));

            assertThat(driver.findElements(By.cssSelector("button[data-action]"))).as("control buttons outside raftkv local").isEmpty();
            for (String path : List.of("/ui/control/kill?node=0", "/ui/control/restart?node=0", "/ui/control/cut?node=0",
                    "/ui/control/heal?node=0", "/ui/network?cut=true")) {
                HttpResponse<String> r = post(cluster.address(served) + path);
                assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isEqualTo(404);
                assertThat(r.body()).contains("raftkv local");
            }

            cluster.kill(leader.id());
            java.util.concurrent.atomic.AtomicInteger shownLeader = new java.util.concurrent.atomic.AtomicInteger(-1);
            awaitPage("the page to show the killed leader down and a new leader", () -> {
                String shown = leaderShown();
                if (shown.isEmpty() || shown.equals(String.valueOf(leader.id()))
                        || !"false".equals(attribute(nodeCss(leader.id()), "data-up"))) return false;
                shownLeader.set(Integer.parseInt(shown));
                return true;
            });
            int newLeader = shownLeader.get();

            long before = lastIndexShown(newLeader);
            try (RaftKvClient client = new RaftKvClient(List.of(cluster.address(newLeader)), Duration.ofSeconds(10))) {
                for (int i = 0; i < 20; i++) {
                    KvResult put = client.put("ui/" + i, "v" + i);
                    assertThat(put.status()).as("put %d: %s", i, put.body()).isEqualTo(200);
                }
            }
            awaitPage("the leader's log strip to grow by the 20 puts", () -> lastIndexShown(newLeader) >= before + 20
                    && driver.findElements(By.cssSelector(".strip[data-node-id='" + newLeader + "'] .e")).size() >= 20);
            assertThat(driver.findElements(By.cssSelector("#timeline li[data-kind='role']"))).as("role changes in the timeline")
                    .isNotEmpty();
            Files.copy(driver.getScreenshotAs(OutputType.FILE).toPath(), ItEnv.targetDir().resolve("webui.png"),
                    StandardCopyOption.REPLACE_EXISTING);
            assertNoConsoleErrors();
        }
    }

    @Test
    @DisplayName("under raftkv local the page's buttons kill, restart, cut and heal a node")
    void localControls() throws Exception {
        int basePort = ItEnv.freeConsecutivePorts(3);
        Path dir = ItEnv.newLogDir("it-webui-local-");
        Path log = dir.resolve("local.log");
        procs.start(log, List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "local", "--nodes", "3",
                "--base-port", String.valueOf(basePort), "--dir", dir.resolve("data").toString(), "--no-shell"), dir);
        String url = ItEnv.await("'raftkv local' to print the web view's URL", WAIT, () -> {
            // Printed before the nodes are up; once a leader is announced, they answer.
            String out = ProcessGroup.read(log);
            Matcher m = Pattern.compile("web view: (http://\\S+/ui)").matcher(out);
            return m.find() && out.matches("(?s).*node \\d+ is the leader.*") ? java.util.Optional.of(m.group(1))
                    : java.util.Optional.empty();
        }, () -> ProcessGroup.read(log));
        driver.get(url); // node 0's page: the buttons act on node 2 and 1, never on the node serving it
        awaitPage("a leader on the page", () -> !leaderShown().isEmpty());

        click("kill", 2);
        awaitPage("node 2 shown down after kill", () -> "false".equals(attribute(nodeCss(2), "data-up")));
        click("restart", 2);
        awaitPage("node 2 shown up after restart", () -> "true".equals(attribute(nodeCss(2), "data-up")));

        click("cut", 1);
        awaitPage("node 1 shown cut", () -> !node(1).findElements(By.cssSelector(".badge.cut")).isEmpty());
        click("heal", 1);
        awaitPage("node 1 shown healed", () -> node(1).findElements(By.cssSelector(".badge.cut")).isEmpty()
                && !driver.findElements(By.cssSelector("button[data-action='cut'][data-node='1']")).isEmpty());
        assertNoConsoleErrors();
    }

    // ---------------------------------------------------------------- helpers

    private void awaitPage(String what, java.util.function.BooleanSupplier condition) {
        new WebDriverWait(driver, PAGE_WAIT).withMessage(() -> what + "; the page shows: "
                        + driver.findElement(By.tagName("body")).getText())
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                .ignoring(org.openqa.selenium.NoSuchElementException.class)
                .until((WebDriver d) -> condition.getAsBoolean());
    }

    private String leaderShown() {
        String v = attribute("#leader", "data-leader");
        return v == null ? "" : v;
    }

    private WebElement node(int id) {
        return driver.findElement(By.cssSelector(nodeCss(id)));
    }

    private static String nodeCss(int id) {
        return ".node[data-node-id='" + id + "']";
    }

    /** Clicks the button once it is there and enabled. */
    private void click(String action, int id) {
        By by = By.cssSelector("button[data-action='" + action + "'][data-node='" + id + "']");
        awaitPage("an enabled " + action + " button for node " + id + " to click", () -> {
            WebElement b = driver.findElement(by);
            if (!b.isEnabled()) return false;
            b.click();
            return true;
        });
    }

    private long lastIndexShown(int id) {
        String v = attribute(".strip[data-node-id='" + id + "']", "data-last-index");
        if (v == null) throw new AssertionError("no log strip of node " + id + " on the page");
        return Long.parseLong(v);
    }

    /**
     * An attribute of the first element matching {@code css}, read in one script call: the page re-renders
     * its elements several times a second, so finding an element and then reading it in a second call can
     * find it already replaced (StaleElementReferenceException). Null when there is no such element.
     */
    private String attribute(String css, String name) {
        Object v = ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;", css, name);
        return v == null ? null : v.toString();
    }

    private HttpResponse<String> post(String hostPortPath) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://" + hostPortPath))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private void assertNoConsoleErrors() {
        List<LogEntry> severe = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).toList();
        assertThat(severe).as("errors in the browser console").isEmpty();
    }
}
