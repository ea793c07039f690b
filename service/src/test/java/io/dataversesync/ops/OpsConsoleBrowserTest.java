package io.dataversesync.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.time.Duration;
import java.util.List;

import io.dataversesync.SyncTestSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console page in a real browser: Debian's headless Chromium driven by Selenium (.ci/run installs chromium and
 * chromium-driver when they are missing). A change dead-lettered at the target shows as its failure group; "Replay
 * group" (confirmed) delivers it (the target emulator holds the row) and the audit trail shows the replay.
 */
class OpsConsoleBrowserTest extends SyncTestSupport {
    static final String KEY = "browser-test-key-0123456789";
    static final File CHROMIUM = new File("/usr/bin/chromium");
    static final File CHROMEDRIVER = new File("/usr/bin/chromedriver");

    static {
        System.setProperty("sync.ops.local-key", KEY);
        System.setProperty("sync.ops.audit.file", System.getProperty("test.broker.dir") + "/ops-audit.jsonl");
        System.setProperty("sync.ops.replay.rate-per-second", "1000");
    }

    WebDriver browser;

    @BeforeEach
    void startBrowser() {
        Assumptions.assumeTrue(CHROMIUM.canExecute() && CHROMEDRIVER.canExecute(),
                "browser test skipped: /usr/bin/chromium and /usr/bin/chromedriver are missing (Debian packages chromium and "
                        + "chromium-driver; .ci/run installs them where it can)");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000");
        // the system's driver: Selenium Manager never downloads anything
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterEach
    void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    void aDeadLetteredChangeIsReplayedFromThePageAndAudited() {
        String id = createAccount("Browser Replay");
        target().faults().failNext("PUT", 1, 400);
        notifyChange("account", id);
        await().atMost(Duration.ofSeconds(20)).until(() -> broker().messageCount(CUSTOMERS_QUEUE + ".DLQ") == 1);
        assertThat(target().record("customers", id)).isEmpty();

        browser.get("http://127.0.0.1:" + System.getProperty("test.port.http") + "/ops/");
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(20));
        browser.findElement(By.id("token")).sendKeys(KEY);
        browser.findElement(By.id("signin")).click();

        // the failure group of the dead letter, with its count, on the queue that has it
        By group = By.cssSelector("#groups tr[data-reason='TargetHttp400']");
        WebElement row = wait.until(ExpectedConditions.visibilityOfElementLocated(group));
        assertThat(row.findElement(By.className("count")).getText()).isEqualTo("1");
        assertThat(browser.findElement(By.id("groups-queue")).getText()).contains(CUSTOMERS_QUEUE);
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("messages"), id));

        // one message's detail
        browser.findElement(By.cssSelector("#messages tr button.view")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("detail")));
        assertThat(browser.findElement(By.id("detail-body")).getText()).contains(id);
        assertThat(browser.findElement(By.id("detail-properties")).getText()).contains("DeadLetterReason");

        // replay the group, confirmed
        row.findElement(By.className("replay-group")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "Replayed 1 of 1"));

        await().atMost(Duration.ofSeconds(20)).until(() -> target().record("customers", id).isPresent());
        awaitSynced(id);
        wait.until(ExpectedConditions.invisibilityOfElementLocated(group));

        // the audit trail shows who replayed what
        WebElement audit = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#audit tbody tr")));
        List<WebElement> cells = audit.findElements(By.tagName("td"));
        assertThat(cells.get(1).getText()).isEqualTo("local-key");
        assertThat(cells.get(2).getText()).isEqualTo("replay");
        assertThat(cells.get(3).getText()).isEqualTo(CUSTOMERS_QUEUE);
        assertThat(cells.get(5).getText()).isEqualTo("1");
    }

    @Test
    void aWrongKeyShowsNothing() {
        browser.get("http://127.0.0.1:" + System.getProperty("test.port.http") + "/ops/");
        browser.findElement(By.id("token")).sendKeys("wrong-key-wrong-key-wrong");
        browser.findElement(By.id("signin")).click();
        new WebDriverWait(browser, Duration.ofSeconds(20))
                .until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "Not signed in"));
        assertThat(browser.findElements(By.cssSelector("#queues tbody tr"))).isEmpty();
    }
}
