DROP FUNCTION app_register_embedding_model(text, text, integer);
-- Indexes created by app_register_embedding_model for models other than the seeded one.
DO $$
DECLARE
    idx text;
BEGIN
    FOR idx IN SELECT indexname FROM pg_indexes
               WHERE tablename = 'chunk_embeddings' AND indexname LIKE 'chunk_embeddings_hnsw\_%' ESCAPE '\'
                 AND indexname <> 'chunk_embeddings_hnsw_local_hash_384'
    LOOP
        EXECUTE format('DROP INDEX %I', idx);
    END LOOP;
END
$$;
ALTER TABLE tenants
    DROP CONSTRAINT tenants_embedding_model_next_check,
    DROP COLUMN embedding_model_next,
    DROP COLUMN embedding_model;
