/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import { registry } from "@web/core/registry";
import { screenshot } from "@sale_amazon_spapi/../tests/tours/amazon_tour_utils";

// tests/test_tours.py imports order 202-0000001-1000003, whose SKU NEW-MUG no
// product matches: a quotation waiting for a SKU mapping.
const ORDER_REF = "202-0000001-1000003";

registry.category("web_tour.tours").add("sale_amazon_spapi_map_sku", {
    steps: () => {
        let orderName = null;
        return [
            {
                content: "Open the search options",
                trigger: ".o_searchview_dropdown_toggler",
                run: "click",
            },
            {
                content: "Orders waiting for a SKU mapping",
                trigger: ".o_filter_menu .o_menu_item:contains(Waiting for SKU Mapping)",
                run: "click",
            },
            {
                content: "Open the waiting order",
                trigger: `.o_list_view:has(.o_searchview_facet) .o_data_row td[name=amazon_order_ref]:contains(${ORDER_REF})`,
                run: "click",
            },
            {
                content: "The banner names the SKU",
                trigger: ".o_form_view .alert-warning .o_field_widget[name=amazon_unmapped_skus]:contains(NEW-MUG)",
            },
            {
                content: "Remember which quotation this is",
                trigger: ".o_breadcrumb .o_last_breadcrumb_item",
                run() {
                    orderName = this.anchor.textContent.trim();
                },
            },
            {
                content: "Map SKU from the banner",
                trigger: ".o_form_view .alert-warning button[name=action_amazon_open_map_sku]",
                run: "click",
            },
            {
                content: "The wizard is filled with the SKU and its ASIN",
                trigger: ".modal .o_data_row:has(td[name=sku]:contains(NEW-MUG)) td[name=asin]:contains(B0NEWMUG01)",
            },
            {
                content: "Choose the product",
                trigger: ".modal .o_data_row td[name=product_id]",
                run: "click",
            },
            {
                trigger: ".modal .o_data_row .o_field_widget[name=product_id] input",
                run: "edit Ceramic Mug",
            },
            {
                trigger: ".o-autocomplete--dropdown-item:contains(Ceramic Mug)",
                run: "click",
            },
            {
                content: "Leave the line",
                trigger: ".modal .o_form_view p:contains(Choose the product)",
                run: "click",
            },
            screenshot(
                "map_sku_wizard",
                "body:has(.modal .o_data_row:not(.o_selected_row) td[name=product_id]:contains([MUG] Ceramic Mug)):not(:has(.o-autocomplete--dropdown-menu))"
            ),
            {
                content: "Map and retry",
                trigger: ".modal footer button[name=action_map_and_retry]",
                run: "click",
            },
            {
                content: "The order is complete",
                trigger: ".o_notification:contains(is complete)",
            },
            {
                content: "Same quotation, now confirmed, banner gone",
                trigger: ".o_form_view:not(:has(.alert-warning [name=amazon_unmapped_skus])) .o_statusbar_status button.o_arrow_button_current:contains(Sales Order)",
            },
            {
                content: "The order kept its name",
                trigger: ".o_breadcrumb .o_last_breadcrumb_item",
                run() {
                    const name = this.anchor.textContent.trim();
                    if (!orderName || name !== orderName) {
                        throw new Error(`The retry showed ${name}, not ${orderName}`);
                    }
                },
            },
            {
                content: "The line sells the mapped product",
                trigger: ".o_field_widget[name=order_line] .o_data_row:contains(Ceramic Mug)",
            },
        ];
    },
});
