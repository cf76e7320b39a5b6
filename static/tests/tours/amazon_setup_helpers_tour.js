/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import { registry } from "@web/core/registry";

// A new channel: the Seller Central domain comes from the company's country,
// and "FBA only" gets its warehouse in one click, without saving first.
registry.category("web_tour.tours").add("sale_amazon_spapi_fba_warehouse", {
    steps: () => [
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Amazon Tour",
        },
        {
            trigger: ".o_field_widget[name=seller_central_domain] select",
            run: function () {
                const label = this.anchor.selectedOptions[0]?.label || "";
                if (!label.includes("amazon.co.uk")) {
                    throw new Error(`Seller Central domain is ${label}, not the UK`);
                }
            },
        },
        {
            trigger: ".o_notebook a[name=orders]",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=fba_mode] select",
            run: "selectByLabel FBA only",
        },
        {
            trigger: ".o_amazon_create_fba_warehouse",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=fba_warehouse_id] input:value(Amazon FBA (Amazon Tour))",
        },
        {
            trigger: ".o_form_view:not(:has(.o_amazon_create_fba_warehouse))",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
    ],
});
