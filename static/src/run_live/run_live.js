import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

import { Component, onWillDestroy, onWillUpdateProps } from "@odoo/owl";

/**
 * Live progress on a migration run's form: while the form is open it listens on the run's
 * bus channel (``cliniko.migration.run_<id>``; the server lets only users who may read the
 * run subscribe) and reloads the record when the runner reports a committed page or a job
 * (verification, rollback) changes state. A form with unsaved edits is left alone.
 */
export const NOTIFICATION = "cliniko_run_progress";
const RELOAD_DELAY = 250;

export class ClinikoRunLive extends Component {
    static template = "cliniko_crm_migration.RunLive";
    static props = { ...standardWidgetProps };

    setup() {
        this.busService = useService("bus_service");
        this.channel = null;
        this.reload = useDebounced(() => this.reloadRecord(), RELOAD_DELAY);
        this.onNotification = this.onNotification.bind(this);
        this.busService.subscribe(NOTIFICATION, this.onNotification);
        this.listen(this.props.record.resId);
        onWillUpdateProps((nextProps) => this.listen(nextProps.record.resId));
        onWillDestroy(() => {
            this.busService.unsubscribe(NOTIFICATION, this.onNotification);
            this.listen(false);
        });
    }

    /** Follow the run shown (the pager may move to another one). */
    listen(resId) {
        const channel = resId ? `cliniko.migration.run_${resId}` : null;
        if (channel === this.channel) {
            return;
        }
        if (this.channel) {
            this.busService.deleteChannel(this.channel);
        }
        this.channel = channel;
        if (channel) {
            this.busService.addChannel(channel);
        }
    }

    get live() {
        const data = this.props.record.data;
        return (
            ["queued", "running"].includes(data.state) ||
            ["queued", "running"].includes(data.job_state)
        );
    }

    onNotification(payload) {
        if (payload.run_id === this.props.record.resId) {
            this.reload();
        }
    }

    async reloadRecord() {
        const record = this.props.record;
        if (record.resId && !(await record.isDirty())) {
            await record.load();
        }
    }
}

registry.category("view_widgets").add("cliniko_run_live", { component: ClinikoRunLive });
