package io.dataversesync.emulator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmulatorOptionsTest {

    @Test
    void defaultsAreTheServicesLocalDefaults() throws Exception {
        EmulatorOptions options = EmulatorOptions.parse();

        assertThat(options.help()).isFalse();
        assertThat(options.dataversePort()).isEqualTo(18081);
        assertThat(options.targetPort()).isEqualTo(18082);
        assertThat(options.clientId()).isEqualTo("local-sync-app");
        assertThat(options.clientSecret()).isEqualTo("local-secret");
        assertThat(options.targetApiKey()).isEqualTo("local-target-key");
        assertThat(options.requestBudget()).isEqualTo(6000);
        assertThat(options.budgetWindow()).isEqualTo(Duration.ofSeconds(300));
        assertThat(options.maxConcurrentRequests()).isZero();
        assertThat(options.executionTimeBudget()).isEqualTo(Duration.ofMillis(1_200_000));
        assertThat(options.costModel()).isEqualTo(CostModel.DEFAULT);
        assertThat(options.costAsLatency()).isFalse();
        assertThat(options.tables()).containsExactly(new EmulatorOptions.Table("accounts", "account", "accountid"));
        assertThat(options.columns()).containsOnlyKeys("accounts");
        assertThat(options.columns().get("accounts")).contains("name", "accountnumber", "telephone1", "emailaddress1",
                "address1_city", "statecode", "new_targetrowid", "new_syncstatus", "new_syncedon", "new_syncerror",
                "new_syncedhash");
        assertThat(options.alternateKeys()).isEqualTo(Map.of("accounts", List.of(List.of("accountnumber"))));
        assertThat(options.seed()).isEqualTo(20);
        assertThat(options.dataverseLatency()).isEqualTo(Duration.ZERO);
        assertThat(options.dataverseErrorRate()).isZero();
        assertThat(options.dataverseErrorStatus()).isEqualTo(503);
        assertThat(options.targetLatency()).isEqualTo(Duration.ZERO);
        assertThat(options.targetErrorRate()).isZero();
        assertThat(options.targetErrorStatus()).isEqualTo(503);

        assertThat(EmulatorOptions.defaults().dataversePort()).isEqualTo(18081);
    }

    @Test
    void everyOptionIsRead() throws Exception {
        EmulatorOptions options = EmulatorOptions.parse(
                "--dataverse-port=28081", "--target-port=28082", "--client-id=my-app", "--client-secret=s3cret",
                "--target-api-key=key-1", "--request-budget=0", "--budget-window-seconds=60",
                "--max-concurrent-requests=52", "--execution-budget-ms=0", "--cost-read-row-ms=0.5",
                "--cost-create-ms=20", "--cost-update-ms=15", "--cost-delete-ms=7", "--cost-request-ms=2.5",
                "--cost-as-latency=true", "--change-tracking-token-seconds=60", "--tables=accounts:account:accountid, contacts:contact:contactid",
                "--columns=contacts:firstname|lastname|emailaddress1,accounts:*",
                "--alternate-keys=contacts:lastname+emailaddress1,contacts:firstname",
                "--seed=0", "--dataverse-latency-ms=25", "--dataverse-error-rate=0.1", "--dataverse-error-status=429",
                "--target-latency-ms=40", "--target-error-rate=1", "--target-error-status=500");

        assertThat(options.dataversePort()).isEqualTo(28081);
        assertThat(options.targetPort()).isEqualTo(28082);
        assertThat(options.clientId()).isEqualTo("my-app");
        assertThat(options.clientSecret()).isEqualTo("s3cret");
        assertThat(options.targetApiKey()).isEqualTo("key-1");
        assertThat(options.requestBudget()).isZero();
        assertThat(options.budgetWindow()).isEqualTo(Duration.ofSeconds(60));
        assertThat(options.maxConcurrentRequests()).isEqualTo(52);
        assertThat(options.executionTimeBudget()).isEqualTo(Duration.ZERO);
        assertThat(options.costModel()).isEqualTo(new CostModel(0.5, 20, 15, 7, 2.5));
        assertThat(options.costAsLatency()).isTrue();
        assertThat(options.changeTrackingTokenLifetime()).isEqualTo(Duration.ofSeconds(60));
        assertThat(options.tables()).containsExactly(new EmulatorOptions.Table("accounts", "account", "accountid"),
                new EmulatorOptions.Table("contacts", "contact", "contactid"));
        assertThat(options.columns()).as("accounts:* = any column")
                .isEqualTo(Map.of("contacts", List.of("firstname", "lastname", "emailaddress1")));
        assertThat(options.alternateKeys()).isEqualTo(Map.of("contacts",
                List.of(List.of("lastname", "emailaddress1"), List.of("firstname"))));
        assertThat(options.seed()).isZero();
        assertThat(options.dataverseLatency()).isEqualTo(Duration.ofMillis(25));
        assertThat(options.dataverseErrorRate()).isEqualTo(0.1);
        assertThat(options.dataverseErrorStatus()).isEqualTo(429);
        assertThat(options.targetLatency()).isEqualTo(Duration.ofMillis(40));
        assertThat(options.targetErrorRate()).isEqualTo(1.0);
        assertThat(options.targetErrorStatus()).isEqualTo(500);
    }

    @Test
    void helpWinsAndUsageListsEveryOptionWithItsDefault() throws Exception {
        assertThat(EmulatorOptions.parse("--help").help()).isTrue();
        assertThat(EmulatorOptions.parse("--nonsense", "-h").help()).isTrue();

        String usage = EmulatorOptions.usage();
        for (String line : new String[] {"--dataverse-port", "[18081]", "--target-port", "[18082]",
            "--client-id", "[local-sync-app]", "--client-secret", "[local-secret]", "--target-api-key",
            "[local-target-key]", "--request-budget", "[6000]", "--budget-window-seconds", "[300]",
            "--max-concurrent-requests", "--execution-budget-ms", "[1200000]", "--cost-read-row-ms", "[1]",
            "--cost-create-ms", "[10]", "--cost-update-ms", "--cost-delete-ms", "--cost-request-ms", "[5]",
            "--cost-as-latency", "[false]", "--change-tracking-token-seconds", "[604800]", "--columns", "--alternate-keys", "[accounts:accountnumber]",
            "--tables", "[accounts:account:accountid]", "--seed", "[20]",
            "--dataverse-latency-ms", "--dataverse-error-rate", "--dataverse-error-status", "[503]",
            "--target-latency-ms", "--target-error-rate", "--target-error-status", "--help"}) {
            assertThat(usage).contains(line);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "--unknown=1                 | unknown option --unknown",
        "dataverse-port=1            | unexpected argument 'dataverse-port=1'",
        "--seed                      | option --seed needs a value",
        "--dataverse-port=abc        | --dataverse-port must be a whole number, not 'abc'",
        "--dataverse-port=70000      | --dataverse-port must be within 0..65535, not 70000",
        "--target-port=-1            | --target-port must be within 0..65535",
        "--request-budget=-5         | --request-budget must be within 0..",
        "--budget-window-seconds=0   | --budget-window-seconds must be within 1..",
        "--dataverse-error-rate=1.5  | --dataverse-error-rate must be within 0..1, not 1.5",
        "--target-error-rate=NaN     | --target-error-rate must be within 0..1",
        "--target-error-rate=often   | --target-error-rate must be a number within 0..1, not 'often'",
        "--dataverse-error-status=200| --dataverse-error-status must be within 400..599, not 200",
        "--client-id=                | --client-id must not be empty",
        "--tables=accounts:account   | --tables entries are entitySet:logicalName:idColumn",
        "--tables=a:b:c,,d:e:f       | --tables entries are entitySet:logicalName:idColumn",
        "--tables=a:b:c,a:x:y        | --tables names entity set 'a' more than once",
        "--target-port=18081         | --dataverse-port and --target-port must differ",
        "--execution-budget-ms=-1    | --execution-budget-ms must be within 0..",
        "--cost-update-ms=-3         | --cost-update-ms must be a number >= 0, not -3",
        "--cost-read-row-ms=slow     | --cost-read-row-ms must be a number of milliseconds, not 'slow'",
        "--cost-request-ms=Infinity  | --cost-request-ms must be a number >= 0",
        "--cost-as-latency=yes       | --cost-as-latency must be true or false, not 'yes'",
        "--columns=contacts:name     | --columns names entity set 'contacts' that --tables does not serve",
        "--alternate-keys=contacts:x | --alternate-keys names entity set 'contacts' that --tables does not serve",
        "--alternate-keys=accounts:nope | --alternate-keys column 'nope' is not a declared column of 'accounts'",
        "--alternate-keys=accounts   | --alternate-keys entries are entitySet:col[+col...]",
    })
    void badInputSaysWhatIsWrong(String argument, String message) {
        assertThatThrownBy(() -> EmulatorOptions.parse(argument))
                .isInstanceOf(EmulatorOptions.UsageException.class)
                .hasMessageContaining(message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '#', value = {
        "--columns=accounts          # --columns entries are entitySet:col|col|... or entitySet:*",
        "--columns=accounts:a||b     # --columns has an empty column name for 'accounts'",
        "--columns=accounts:a,accounts:b # --columns names entity set 'accounts' more than once",
    })
    void badColumnsSayWhatIsWrong(String argument, String message) {
        badInputSaysWhatIsWrong(argument, message);
    }

    @Test
    void theDefaultKeyIsDroppedWhenAccountsIsNotServedAndAnEmptyValueMeansNone() throws Exception {
        EmulatorOptions contactsOnly = EmulatorOptions.parse("--tables=contacts:contact:contactid");
        assertThat(contactsOnly.alternateKeys()).isEmpty();
        assertThat(contactsOnly.columns()).as("contacts takes any column").isEmpty();
        assertThat(EmulatorOptions.parse("--alternate-keys=").alternateKeys()).isEmpty();
    }

    @Test
    void anOptionGivenTwiceIsRefused() {
        assertThatThrownBy(() -> EmulatorOptions.parse("--seed=1", "--seed=2"))
                .isInstanceOf(EmulatorOptions.UsageException.class)
                .hasMessage("option --seed is given more than once");
    }
}
