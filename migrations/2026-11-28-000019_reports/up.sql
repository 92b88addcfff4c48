-- Reports: asked for by a person (or due on a schedule), made by the report worker, kept with
-- their file. A queued row is the worker's outbox: it claims one at a time (FOR UPDATE SKIP
-- LOCKED), writes its progress as it goes, and stores the file or the error.
CREATE TABLE report_schedules (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The customer reported on.
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id      uuid REFERENCES sites (id) ON DELETE CASCADE,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    format       text NOT NULL CHECK (format IN ('csv', 'xlsx', 'pdf')),
    -- weekly: the previous Monday-to-Sunday; monthly: the previous month.
    cadence      text NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    -- The day the next report is made (its period ends the day before).
    next_run_on  date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_schedules_due ON report_schedules (next_run_on);
CREATE INDEX report_schedules_tenant ON report_schedules (tenant_id);

CREATE TABLE reports (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id       uuid REFERENCES sites (id) ON DELETE CASCADE,
    requested_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    schedule_id   uuid REFERENCES report_schedules (id) ON DELETE SET NULL,
    format        text NOT NULL CHECK (format IN ('csv', 'xlsx', 'pdf')),
    period_from   date NOT NULL,
    -- Excluded.
    period_to     date NOT NULL,
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress      integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    -- What the worker is doing now (pages, costs, supplies, faults, rendering).
    stage         text,
    attempts      integer NOT NULL DEFAULT 0,
    error         text,
    file_name     text,
    content_type  text,
    content       bytea,
    size          bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    CHECK (period_to > period_from),
    CHECK ((status = 'done') = (content IS NOT NULL))
);
CREATE INDEX reports_tenant ON reports (tenant_id, created_at DESC);
CREATE INDEX reports_waiting ON reports (created_at) WHERE status IN ('queued', 'running');
