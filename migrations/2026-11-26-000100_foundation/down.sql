DROP FUNCTION app_track_updated_at(regclass);
DROP FUNCTION app_enable_tenant_rls(regclass);
DROP FUNCTION app_set_updated_at();
DROP FUNCTION app_current_tenant();
REVOKE USAGE ON SCHEMA public FROM metachat_app;
-- The `vector` extension and the `metachat_app` role are provisioned infrastructure (scripts/services.sh,
-- deploy/postgres-init.sql) shared with other databases of the cluster; they are left in place.
