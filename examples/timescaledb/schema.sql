-- EVSE Bridge's MQTT shadow in TimescaleDB: one row per sampled value.
-- Apply once to the database the consumer writes to:
--   psql -d evse -f schema.sql
-- Needs TimescaleDB 2.13 or newer (by_range).

CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS charger_values (
    time        timestamptz NOT NULL,  -- when the charger sampled it (sampled_at)
    charger     text NOT NULL,         -- charger id: its serial number
    connector   text NOT NULL,         -- part id: evse1, plug1, connector1, mainMeter
    name        text NOT NULL,         -- energy_wh, power_w, current_a/l1, status, ...
    value       double precision,      -- numbers; true/false as 1/0
    value_text  text,                  -- text values: status, vendor_status, ...
    CHECK ((value IS NULL) <> (value_text IS NULL))
);

SELECT create_hypertable(
    'charger_values', by_range('time', INTERVAL '7 days'), if_not_exists => TRUE
);

-- One row per sample: the retained messages the broker sends again after
-- every reconnection are not stored twice. It also serves the usual query,
-- one value of one connector over time.
CREATE UNIQUE INDEX IF NOT EXISTS charger_values_sample
    ON charger_values (charger, connector, name, time DESC);

-- Energy charged per day (UTC) and connector: the sum of the rises of the
-- lifetime meter between consecutive readings, so that energy charged across
-- midnight counts on the day each reading saw it.
CREATE OR REPLACE VIEW charger_energy_daily AS
SELECT time_bucket('1 day', time) AS day, charger, connector, sum(rise) / 1000 AS kwh
FROM (
    SELECT time, charger, connector,
           value - lag(value) OVER (PARTITION BY charger, connector ORDER BY time) AS rise
    FROM charger_values
    WHERE name = 'energy_wh'
) AS readings
WHERE rise > 0
GROUP BY day, charger, connector;
