// @generated automatically by Diesel CLI.

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
    login_throttle (email_key) {
        email_key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    raw_batches (agent_id, sequence) {
        agent_id -> Uuid,
        sequence -> Int8,
        tenant_id -> Uuid,
        received_at -> Timestamptz,
        readings -> Jsonb,
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
    sites (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        time_zone -> Text,
        address -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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

diesel::joinable!(agent_commands -> agents (agent_id));
diesel::joinable!(agent_commands -> discovery_ranges (range_id));
diesel::joinable!(agent_commands -> tenants (tenant_id));
diesel::joinable!(agent_commands -> users (requested_by));
diesel::joinable!(agents -> enrollment_keys (enrollment_key));
diesel::joinable!(agents -> sites (site_id));
diesel::joinable!(agents -> tenants (tenant_id));
diesel::joinable!(api_tokens -> tenants (tenant_id));
diesel::joinable!(api_tokens -> users (created_by));
diesel::joinable!(cycle_reports -> agents (agent_id));
diesel::joinable!(cycle_reports -> tenants (tenant_id));
diesel::joinable!(discovery_ranges -> agents (agent_id));
diesel::joinable!(discovery_ranges -> sites (site_id));
diesel::joinable!(discovery_ranges -> tenants (tenant_id));
diesel::joinable!(enrollment_keys -> sites (site_id));
diesel::joinable!(enrollment_keys -> tenants (tenant_id));
diesel::joinable!(enrollment_keys -> users (created_by));
diesel::joinable!(raw_batches -> agents (agent_id));
diesel::joinable!(raw_batches -> tenants (tenant_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(refresh_tokens -> tenants (tenant_id));
diesel::joinable!(sessions -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sites -> tenants (tenant_id));
diesel::joinable!(snmp_credentials -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    agent_commands,
    agents,
    api_tokens,
    cycle_reports,
    discovery_ranges,
    enrollment_keys,
    login_throttle,
    raw_batches,
    refresh_tokens,
    sessions,
    sites,
    snmp_credentials,
    tenants,
    users,
);
