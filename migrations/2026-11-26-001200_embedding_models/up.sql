-- Embedding models per tenant, and changing them without losing data.
--
-- `tenants.embedding_model` is the model the tenant's queries use (NULL: the platform default in
-- embedding_models). `embedding_model_next` is a model being built in the background: ingestion embeds with
-- both, a worker job re-embeds older chunks with the next one, and only when every searchable chunk has a
-- vector of the next model does the tenant switch; the old model's vectors are deleted after the switch.
ALTER TABLE tenants
    ADD COLUMN embedding_model text REFERENCES embedding_models (name),
    ADD COLUMN embedding_model_next text REFERENCES embedding_models (name),
    ADD CONSTRAINT tenants_embedding_model_next_check CHECK (embedding_model_next IS NULL OR embedding_model_next IS DISTINCT FROM embedding_model);

-- Registers an embedding model (idempotent) and creates its partial HNSW index: pgvector indexes need a fixed
-- dimension, so each model gets `(embedding::vector(N)) vector_cosine_ops WHERE model = '<name>'`. The index
-- name and literal are built with format('%I' / '%L') from the CHECKed name and an integer only. Models wider
-- than 2,000 dimensions (HNSW's limit for `vector`) get no index and are searched exactly.
-- SECURITY DEFINER: the runtime role may register models but cannot run DDL itself.
CREATE FUNCTION app_register_embedding_model(p_name text, p_provider text, p_dimensions integer)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
DECLARE
    known integer;
BEGIN
    SELECT dimensions INTO known FROM embedding_models WHERE name = p_name;
    IF known IS NULL THEN
        INSERT INTO embedding_models (name, provider, dimensions) VALUES (p_name, p_provider, p_dimensions);
    ELSIF known <> p_dimensions THEN
        RAISE EXCEPTION 'embedding model % is registered with % dimensions, not %', p_name, known, p_dimensions
            USING ERRCODE = 'check_violation', CONSTRAINT = 'embedding_models_dimensions_check';
    END IF;
    IF p_dimensions <= 2000 THEN
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON chunk_embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE model = %L',
            'chunk_embeddings_hnsw_' || substr(md5(p_name), 1, 16), p_dimensions, p_name);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION app_register_embedding_model(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_register_embedding_model(text, text, integer) TO metachat_app;
