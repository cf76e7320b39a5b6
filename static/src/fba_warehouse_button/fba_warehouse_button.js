/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import { Component } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

/**
 * "Create FBA Warehouse" on the channel form. A button of type "object" would
 * save the channel first, which its FBA mode forbids until it has a warehouse:
 * this one creates the warehouse and sets it on the form, which the user then
 * saves with the rest.
 */
export class AmazonFbaWarehouseButton extends Component {
    static template = "sale_amazon_spapi.AmazonFbaWarehouseButton";
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
    }

    async onClick() {
        const record = this.props.record;
        const warehouse = await this.orm.call(
            "amazon.account",
            "action_create_fba_warehouse",
            [record.resId ? [record.resId] : []],
            {
                company_id: record.data.company_id ? record.data.company_id[0] : false,
                channel_name: record.data.name || false,
            }
        );
        await record.update({
            fba_warehouse_id: [warehouse.id, warehouse.display_name],
        });
    }
}

registry.category("view_widgets").add("amazon_fba_warehouse_button", {
    component: AmazonFbaWarehouseButton,
});
