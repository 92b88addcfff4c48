// @generated automatically by Diesel CLI.

diesel::table! {
    accounting_outbox (device_id) {
        device_id -> Uuid,
        since -> Timestamptz,
        queued_at -> Timestamptz,
    }
}

diesel::table! {
    agent_commands (id) {
        id -> Uuid,
        agent_id -> Uuid,
        tenant_id -> Uuid,
        cycle -> Text,
        range_id -> Nullable<Uuid>,
        requested_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    agents (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        enrollment_key -> Nullable<Uuid>,
        name -> Text,
        credential_hash -> Bytea,
        version -> Nullable<Text>,
        enrolled_at -> Timestamptz,
        last_seen_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        usb_interval_minutes -> Nullable<Int4>,
        connected_at -> Nullable<Timestamptz>,
        disconnected_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    alerts (id) {
        id -> Uuid,
        device_id -> Uuid,
        tenant_id -> Uuid,
        key -> Text,
        code -> Nullable<Int8>,
        severity -> Text,
        fault_type -> Text,
        description -> Nullable<Text>,
        started_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        agent_id -> Uuid,
        sequence -> Int8,
        training_level -> Nullable<Text>,
        triaged -> Bool,
        notified -> Bool,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        role -> Text,
        secret_hash -> Bytea,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    counter_readings (device_id, kind, read_at) {
        device_id -> Uuid,
        tenant_id -> Uuid,
        read_at -> Timestamptz,
        kind -> Text,
        value -> Int8,
        flag -> Nullable<Text>,
        agent_id -> Uuid,
        sequence -> Int8,
    }
}

diesel::table! {
    counter_readings_default (device_id, kind, read_at) {
        device_id -> Uuid,
        tenant_id -> Uuid,
        read_at -> Timestamptz,
        kind -> Text,
        value -> Int8,
        flag -> Nullable<Text>,
        agent_id -> Uuid,
        sequence -> Int8,
    }
}

diesel::table! {
    cycle_reports (id) {
        id -> Uuid,
        agent_id -> Uuid,
        tenant_id -> Uuid,
        cycle -> Text,
        range_id -> Nullable<Text>,
        started_at -> Timestamptz,
        duration_ms -> Int8,
        devices_read -> Int4,
        devices_failed -> Int4,
        devices_asleep -> Int4,
        received_at -> Timestamptz,
        batches_not_kept -> Int4,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Uuid,
        notification_id -> Uuid,
        channel -> Text,
        target -> Text,
        webhook_id -> Nullable<Uuid>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    device_addresses (device_id, first_seen_at) {
        device_id -> Uuid,
        address -> Text,
        host_name -> Nullable<Text>,
        agent_id -> Nullable<Uuid>,
        site_id -> Nullable<Uuid>,
        first_seen_at -> Timestamptz,
        last_seen_at -> Timestamptz,
    }
}

diesel::table! {
    device_status_history (device_id, at) {
        device_id -> Uuid,
        at -> Timestamptz,
        status -> Text,
        errors -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    devices (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        agent_id -> Nullable<Uuid>,
        range_id -> Nullable<Uuid>,
        kind -> Text,
        serial -> Nullable<Text>,
        mac -> Nullable<Text>,
        engine_id -> Nullable<Text>,
        address -> Text,
        port -> Int4,
        host_name -> Nullable<Text>,
        credential_id -> Nullable<Uuid>,
        vendor -> Nullable<Text>,
        model -> Nullable<Text>,
        firmware -> Nullable<Text>,
        location -> Nullable<Text>,
        profile -> Array<Nullable<Text>>,
        read_plan -> Nullable<Jsonb>,
        status -> Text,
        first_seen_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        updated_at -> Timestamptz,
        sort_key -> Nullable<Text>,
        search_text -> Nullable<Text>,
        status_errors -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    discovery_ranges (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Uuid,
        agent_id -> Nullable<Uuid>,
        name -> Text,
        ranges -> Text,
        credential_ids -> Array<Nullable<Uuid>>,
        schedules -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    enrollment_keys (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        name -> Text,
        key_hash -> Bytea,
        expires_at -> Timestamptz,
        uses_left -> Nullable<Int4>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    labour_rates (tenant_id, skill) {
        tenant_id -> Uuid,
        skill -> Text,
        hourly_rate -> Int8,
        currency -> Text,
    }
}

diesel::table! {
    latest_counters (device_id, kind) {
        device_id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        read_at -> Timestamptz,
        value -> Int8,
        flag -> Nullable<Text>,
        agent_id -> Uuid,
        sequence -> Int8,
    }
}

diesel::table! {
    login_throttle (email_key) {
        email_key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    notification_preferences (user_id) {
        user_id -> Uuid,
        critical_alert -> Bool,
        supply_reorder -> Bool,
        work_order -> Bool,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        source -> Text,
        subject -> Text,
        body -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    page_counts (device_id, kind, day) {
        device_id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        day -> Date,
        pages -> Int8,
        held -> Int8,
        reasons -> Array<Nullable<Text>>,
        evidence -> Nullable<Jsonb>,
        computed_at -> Timestamptz,
    }
}

diesel::table! {
    price_plans (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        device_id -> Nullable<Uuid>,
        name -> Text,
        currency -> Text,
        mono_price -> Int8,
        color_price -> Int8,
        included_mono -> Int8,
        included_color -> Int8,
        pooled -> Bool,
        minimum_charge -> Int8,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        created_at -> Timestamptz,
        large_format_factor -> Int4,
    }
}

diesel::table! {
    raw_batches (agent_id, sequence) {
        agent_id -> Uuid,
        sequence -> Int8,
        tenant_id -> Uuid,
        received_at -> Timestamptz,
        readings -> Jsonb,
        interpreted_at -> Nullable<Timestamptz>,
        errors -> Nullable<Jsonb>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        session_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    report_schedules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        format -> Text,
        cadence -> Text,
        next_run_on -> Date,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reports (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Nullable<Uuid>,
        requested_by -> Nullable<Uuid>,
        schedule_id -> Nullable<Uuid>,
        format -> Text,
        period_from -> Date,
        period_to -> Date,
        status -> Text,
        progress -> Int4,
        stage -> Nullable<Text>,
        attempts -> Int4,
        error -> Nullable<Text>,
        file_name -> Nullable<Text>,
        content_type -> Nullable<Text>,
        content -> Nullable<Bytea>,
        size -> Nullable<Int8>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    shipments (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        site_id -> Uuid,
        supply_model_id -> Uuid,
        quantity -> Int4,
        shipped_on -> Date,
        delivered_on -> Nullable<Date>,
        reference -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    shipped_supplies (shipment_id, serial) {
        shipment_id -> Uuid,
        tenant_id -> Uuid,
        serial -> Text,
    }
}

diesel::table! {
    sites (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        time_zone -> Text,
        address -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        lead_time_days -> Int4,
    }
}

diesel::table! {
    snmp_credentials (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        version -> Text,
        v3_user -> Nullable<Text>,
        auth_protocol -> Nullable<Text>,
        priv_protocol -> Nullable<Text>,
        context -> Nullable<Text>,
        sealed -> Bytea,
        key_id -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    supplies (device_id, supply_index) {
        device_id -> Uuid,
        tenant_id -> Uuid,
        supply_index -> Int4,
        kind -> Text,
        color -> Nullable<Text>,
        description -> Nullable<Text>,
        level -> Nullable<Int8>,
        max_capacity -> Nullable<Int8>,
        percent -> Nullable<Float8>,
        state -> Text,
        unit -> Nullable<Text>,
        receptacle -> Bool,
        part_number -> Nullable<Text>,
        serial -> Nullable<Text>,
        remaining_pages -> Nullable<Int8>,
        installed_at -> Nullable<Timestamptz>,
        read_at -> Timestamptz,
        agent_id -> Uuid,
        sequence -> Int8,
        level_at_install -> Nullable<Float8>,
    }
}

diesel::table! {
    supply_events (id) {
        id -> Uuid,
        device_id -> Uuid,
        tenant_id -> Uuid,
        supply_index -> Int4,
        at -> Timestamptz,
        kind -> Text,
        detail -> Jsonb,
        agent_id -> Uuid,
        sequence -> Int8,
    }
}

diesel::table! {
    supply_levels (device_id, supply_index, at) {
        device_id -> Uuid,
        tenant_id -> Uuid,
        supply_index -> Int4,
        at -> Timestamptz,
        percent -> Float8,
        total_pages -> Nullable<Int8>,
    }
}

diesel::table! {
    supply_models (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        part_number -> Text,
        name -> Text,
        kind -> Text,
        color -> Nullable<Text>,
        rated_yield -> Nullable<Int4>,
        created_at -> Timestamptz,
        unit_cost -> Nullable<Int8>,
    }
}

diesel::table! {
    tenant_notification_settings (tenant_id) {
        tenant_id -> Uuid,
        critical_alert -> Bool,
        supply_reorder -> Bool,
        work_order -> Bool,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        parent_id -> Nullable<Uuid>,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled_at -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        url -> Text,
        secret -> Text,
        events -> Array<Nullable<Text>>,
        enabled -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    work_order_events (id) {
        id -> Int8,
        work_order_id -> Uuid,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        kind -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        assignee_id -> Nullable<Uuid>,
        body -> Nullable<Text>,
        notified -> Bool,
    }
}

diesel::table! {
    work_order_rules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        fault_type -> Nullable<Text>,
        min_severity -> Text,
        min_skill -> Nullable<Text>,
        close_when_cleared -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    work_orders (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        device_id -> Uuid,
        alert_id -> Nullable<Uuid>,
        rule_id -> Nullable<Uuid>,
        fault_type -> Text,
        title -> Text,
        skill -> Text,
        specialist -> Bool,
        estimated_minutes -> Int4,
        estimated_labour -> Nullable<Int8>,
        estimated_parts -> Int8,
        status -> Text,
        assignee_id -> Nullable<Uuid>,
        opened_by -> Nullable<Uuid>,
        opened_at -> Timestamptz,
        fault_started_at -> Timestamptz,
        fault_cleared_at -> Nullable<Timestamptz>,
        close_proposed -> Bool,
        closed_at -> Nullable<Timestamptz>,
        labour_minutes -> Nullable<Int4>,
        parts_cost -> Nullable<Int8>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(accounting_outbox -> devices (device_id));
diesel::joinable!(agent_commands -> agents (agent_id));
diesel::joinable!(agent_commands -> discovery_ranges (range_id));
diesel::joinable!(agent_commands -> tenants (tenant_id));
diesel::joinable!(agent_commands -> users (requested_by));
diesel::joinable!(agents -> enrollment_keys (enrollment_key));
diesel::joinable!(agents -> sites (site_id));
diesel::joinable!(agents -> tenants (tenant_id));
diesel::joinable!(alerts -> devices (device_id));
diesel::joinable!(api_tokens -> tenants (tenant_id));
diesel::joinable!(api_tokens -> users (created_by));
diesel::joinable!(cycle_reports -> agents (agent_id));
diesel::joinable!(cycle_reports -> tenants (tenant_id));
diesel::joinable!(deliveries -> notifications (notification_id));
diesel::joinable!(deliveries -> webhooks (webhook_id));
diesel::joinable!(device_addresses -> agents (agent_id));
diesel::joinable!(device_addresses -> devices (device_id));
diesel::joinable!(device_addresses -> sites (site_id));
diesel::joinable!(device_status_history -> devices (device_id));
diesel::joinable!(devices -> agents (agent_id));
diesel::joinable!(devices -> discovery_ranges (range_id));
diesel::joinable!(devices -> sites (site_id));
diesel::joinable!(devices -> snmp_credentials (credential_id));
diesel::joinable!(devices -> tenants (tenant_id));
diesel::joinable!(discovery_ranges -> agents (agent_id));
diesel::joinable!(discovery_ranges -> sites (site_id));
diesel::joinable!(discovery_ranges -> tenants (tenant_id));
diesel::joinable!(enrollment_keys -> sites (site_id));
diesel::joinable!(enrollment_keys -> tenants (tenant_id));
diesel::joinable!(enrollment_keys -> users (created_by));
diesel::joinable!(labour_rates -> tenants (tenant_id));
diesel::joinable!(latest_counters -> devices (device_id));
diesel::joinable!(notification_preferences -> users (user_id));
diesel::joinable!(notifications -> tenants (tenant_id));
diesel::joinable!(page_counts -> devices (device_id));
diesel::joinable!(page_counts -> tenants (tenant_id));
diesel::joinable!(price_plans -> devices (device_id));
diesel::joinable!(price_plans -> sites (site_id));
diesel::joinable!(price_plans -> tenants (tenant_id));
diesel::joinable!(raw_batches -> agents (agent_id));
diesel::joinable!(raw_batches -> tenants (tenant_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(refresh_tokens -> tenants (tenant_id));
diesel::joinable!(report_schedules -> sites (site_id));
diesel::joinable!(report_schedules -> tenants (tenant_id));
diesel::joinable!(report_schedules -> users (created_by));
diesel::joinable!(reports -> report_schedules (schedule_id));
diesel::joinable!(reports -> sites (site_id));
diesel::joinable!(reports -> tenants (tenant_id));
diesel::joinable!(reports -> users (requested_by));
diesel::joinable!(sessions -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(shipments -> sites (site_id));
diesel::joinable!(shipments -> supply_models (supply_model_id));
diesel::joinable!(shipments -> tenants (tenant_id));
diesel::joinable!(shipped_supplies -> shipments (shipment_id));
diesel::joinable!(shipped_supplies -> tenants (tenant_id));
diesel::joinable!(sites -> tenants (tenant_id));
diesel::joinable!(snmp_credentials -> tenants (tenant_id));
diesel::joinable!(supplies -> devices (device_id));
diesel::joinable!(supply_events -> devices (device_id));
diesel::joinable!(supply_levels -> devices (device_id));
diesel::joinable!(supply_levels -> tenants (tenant_id));
diesel::joinable!(supply_models -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(webhooks -> tenants (tenant_id));
diesel::joinable!(work_order_events -> work_orders (work_order_id));
diesel::joinable!(work_order_rules -> tenants (tenant_id));
diesel::joinable!(work_orders -> alerts (alert_id));
diesel::joinable!(work_orders -> devices (device_id));
diesel::joinable!(work_orders -> tenants (tenant_id));
diesel::joinable!(work_orders -> work_order_rules (rule_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounting_outbox,
    agent_commands,
    agents,
    alerts,
    api_tokens,
    counter_readings,
    counter_readings_default,
    cycle_reports,
    deliveries,
    device_addresses,
    device_status_history,
    devices,
    discovery_ranges,
    enrollment_keys,
    labour_rates,
    latest_counters,
    login_throttle,
    notification_preferences,
    notifications,
    page_counts,
    price_plans,
    raw_batches,
    refresh_tokens,
    report_schedules,
    reports,
    sessions,
    shipments,
    shipped_supplies,
    sites,
    snmp_credentials,
    supplies,
    supply_events,
    supply_levels,
    supply_models,
    tenants,
    users,
    webhooks,
    work_order_events,
    work_order_rules,
    work_orders,
);
