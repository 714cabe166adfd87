import { registry } from "@web/core/registry";

/**
 * Live progress: the form of a queued run is open while the scheduler works on it (the
 * Python test runs its job in another thread, once the form listens on the run's channel).
 * The form follows the run to its end by itself: no Refresh, no reload of the page (a marker
 * set on the window at the start would be gone). Then Verify, queued: the form shows its
 * report once the scheduler has verified the run, by itself too.
 */
registry.category("web_tour.tours").add("cliniko_live_progress", {
    steps: () => [
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Queued')",
            content: "The run waits for the scheduler",
        },
        {
            trigger: ".o_form_view .o_cliniko_run_live",
            content: "The form says it follows the run",
            run() {
                window.clinikoLiveProgressPage = true;
                if (document.querySelector("button[name=action_refresh]")) {
                    throw new Error("a Refresh button is still offered");
                }
            },
        },
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Running')",
            content: "The scheduler took the run up: the form shows it",
            timeout: 30000,
        },
        {
            trigger: ".o_field_widget[name=resource_ids] .o_data_row td[name=fetched]",
            content: "Counters appear as pages are committed",
            timeout: 30000,
            run() {
                const fetched = [
                    ...document.querySelectorAll(
                        ".o_field_widget[name=resource_ids] .o_data_row td[name=fetched]"
                    ),
                ].map((cell) => parseInt(cell.textContent.replace(/\D/g, "") || "0"));
                window.clinikoLiveProgressFirstCount = fetched.reduce((a, b) => a + b, 0);
            },
        },
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Done')",
            content: "The run finished, and the form knows without a reload",
            timeout: 60000,
        },
        {
            trigger: ".o_form_view:not(:has(.o_cliniko_run_live))",
            content: "Nothing left to follow",
            run() {
                if (!window.clinikoLiveProgressPage) {
                    throw new Error("the page was reloaded");
                }
                const fetched = [
                    ...document.querySelectorAll(
                        ".o_field_widget[name=resource_ids] .o_data_row td[name=fetched]"
                    ),
                ].map((cell) => parseInt(cell.textContent.replace(/\D/g, "") || "0"));
                const total = fetched.reduce((a, b) => a + b, 0);
                if (!(total > window.clinikoLiveProgressFirstCount)) {
                    const first = window.clinikoLiveProgressFirstCount;
                    throw new Error(`the counters did not move: ${first} -> ${total}`);
                }
            },
        },
        { trigger: "button[name=action_verify]", content: "Verify the run", run: "click" },
        {
            trigger: ".modal:contains('reads Cliniko again') .modal-footer .btn-primary",
            content: "It says what it will do first",
            run: "click",
        },
        {
            trigger: "div[name=cliniko_job]:contains('Verification')",
            content: "Queued for the scheduler; the form follows it too",
        },
        {
            trigger: "div[name=cliniko_job_progress] .o_progressbar",
            content: "Its progress bar, with the step it is at (waiting, or already working)",
            run() {
                const step = document.querySelector(
                    "div[name=cliniko_job_progress] div[name=job_step]"
                );
                if (!step || !step.textContent.trim()) {
                    throw new Error("the job's progress names no step");
                }
            },
        },
        {
            trigger: "a[name=verification]",
            content: "The scheduler verified the run: its report shows without a reload",
            timeout: 60000,
            run() {
                if (!window.clinikoLiveProgressPage) {
                    throw new Error("the page was reloaded");
                }
            },
        },
    ],
});
