package io.dataversesync.target;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The sagas (Microsoft's "Saga pattern with Dataverse"): ordered chains of targets, read from
 * {@code sync.sagas=onboarding} and {@code sync.saga.onboarding.steps=mdm,crm,erp}. Each step is a declared target
 * (routes/targets/, sync.targets) with its own queue, consumer and retries; the first step subscribes to the
 * changes topic, every later step only receives what the step before it forwards, and each step's compensation has
 * a queue of its own ({@code <step>-compensation}). The saga's state travels in its messages, never in memory.
 */
public class Sagas {
    public static final String COMPENSATION_SUFFIX = "-compensation";

    /** @param steps the steps in order */
    public record Saga(String name, List<String> steps) {
        public int indexOf(String step) {
            return steps.indexOf(step);
        }

        public Optional<String> next(String step) {
            int i = indexOf(step);
            return i >= 0 && i + 1 < steps.size() ? Optional.of(steps.get(i + 1)) : Optional.empty();
        }

        public Optional<String> previous(String step) {
            int i = indexOf(step);
            return i > 0 ? Optional.of(steps.get(i - 1)) : Optional.empty();
        }
    }

    private final Map<String, Saga> byStep = new LinkedHashMap<>();
    private final List<Saga> sagas = new ArrayList<>();

    public Sagas(List<Saga> sagas) {
        for (Saga saga : sagas) {
            this.sagas.add(saga);
            for (String step : saga.steps()) {
                if (byStep.put(step, saga) != null) {
                    throw new IllegalArgumentException("target '" + step + "' is a step of two sagas");
                }
            }
        }
    }

    /** @param property a property by key, null when absent; every step must be a declared target */
    public static Sagas fromProperties(Function<String, String> property, List<String> targets) {
        String names = property.apply("sync.sagas");
        List<Saga> list = new ArrayList<>();
        if (names != null && !names.isBlank()) {
            for (String name : TargetNames.parse(names)) {
                String key = "sync.saga." + name + ".steps";
                String steps = property.apply(key);
                if (steps == null || steps.isBlank()) {
                    throw new IllegalArgumentException("missing required property " + key);
                }
                List<String> ordered = TargetNames.parse(steps);
                if (ordered.size() < 2) {
                    throw new IllegalArgumentException(key + " names at least two steps, was '" + steps + "'");
                }
                for (String step : ordered) {
                    if (!targets.contains(step)) {
                        throw new IllegalArgumentException(key + " names '" + step + "', which is not in sync.targets (" + targets + ")");
                    }
                }
                list.add(new Saga(name, List.copyOf(ordered)));
            }
        }
        return new Sagas(list);
    }

    public Optional<Saga> of(String step) {
        return Optional.ofNullable(step == null ? null : byStep.get(step));
    }

    /** A later step of a saga takes only what is forwarded to it, never a change published for everyone. */
    public boolean isLaterStep(String target) {
        return of(target).map(s -> s.indexOf(target) > 0).orElse(false);
    }

    public List<Saga> all() {
        return sagas;
    }

    /** Every queue on the changes topic: each target's, and each saga step's compensation queue. */
    public List<Subscription> subscriptions(List<String> targets) {
        List<Subscription> out = new ArrayList<>();
        for (String target : targets) {
            out.add(new Subscription(target, isLaterStep(target)));
            if (of(target).isPresent()) {
                out.add(new Subscription(target + COMPENSATION_SUFFIX, true));
            }
        }
        return out;
    }

    /**
     * A queue (Artemis) or subscription (Service Bus) on the changes topic.
     *
     * @param name         <target>, or <step>-compensation
     * @param directedOnly takes only messages addressed to it (syncSubscriber = name), not the published changes
     */
    public record Subscription(String name, boolean directedOnly) {
        /** The filter of its queue / the rule of its subscription (the same SQL-92 subset in both). */
        public String filter() {
            return directedOnly ? "syncSubscriber = '" + name + "'" : "syncSubscriber IS NULL OR syncSubscriber = '" + name + "'";
        }
    }
}
