-- The schema core/store.py created (SQLModel.metadata.create_all) before issue 9:
-- sqlite.
-- Generated once from main at ae79537 by tests/data/schema/generate_pre_0001.py; do not edit
-- or regenerate: the upgrade test builds an "old" database from it.

CREATE TABLE documents (
	id VARCHAR(36) NOT NULL, 
	source VARCHAR(200) NOT NULL, 
	family VARCHAR(16) NOT NULL, 
	source_id VARCHAR(300), 
	url VARCHAR(2000), 
	title VARCHAR NOT NULL, 
	text VARCHAR NOT NULL, 
	author VARCHAR(300), 
	published_at DATETIME NOT NULL, 
	ingested_at DATETIME NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	lang VARCHAR(16), 
	meta JSON NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_documents_ingested_at ON documents (ingested_at);

CREATE INDEX ix_documents_content_hash ON documents (content_hash);

CREATE TABLE sentiment_cache (
	text_hash VARCHAR(64) NOT NULL, 
	model_version VARCHAR(120) NOT NULL, 
	p_negative FLOAT NOT NULL, 
	p_neutral FLOAT NOT NULL, 
	p_positive FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (text_hash, model_version)
);

CREATE TABLE index_points (
	asset VARCHAR(12) NOT NULL, 
	family VARCHAR(16) NOT NULL, 
	freq VARCHAR(4) NOT NULL, 
	model_version VARCHAR(120) NOT NULL, 
	ts DATETIME NOT NULL, 
	asof DATETIME NOT NULL, 
	n_docs INTEGER NOT NULL, 
	mean FLOAT NOT NULL, 
	dispersion FLOAT NOT NULL, 
	share_bullish FLOAT NOT NULL, 
	share_bearish FLOAT NOT NULL, 
	weighted_mean FLOAT NOT NULL, 
	"index" FLOAT NOT NULL, 
	zscore FLOAT, 
	PRIMARY KEY (asset, family, freq, model_version, ts)
);

CREATE INDEX ix_index_points_version_freq_ts ON index_points (model_version, freq, ts);

CREATE TABLE candles (
	exchange VARCHAR(40) NOT NULL, 
	pair VARCHAR(20) NOT NULL, 
	timeframe VARCHAR(8) NOT NULL, 
	ts DATETIME NOT NULL, 
	open FLOAT NOT NULL, 
	high FLOAT NOT NULL, 
	low FLOAT NOT NULL, 
	close FLOAT NOT NULL, 
	volume_base FLOAT NOT NULL, 
	volume_quote FLOAT, 
	ingested_at DATETIME NOT NULL, 
	PRIMARY KEY (exchange, pair, timeframe, ts)
);

CREATE TABLE onchain_metrics (
	asset VARCHAR(12) NOT NULL, 
	metric VARCHAR(60) NOT NULL, 
	day DATE NOT NULL, 
	source VARCHAR(60) NOT NULL, 
	value FLOAT NOT NULL, 
	ingested_at DATETIME NOT NULL, 
	PRIMARY KEY (asset, metric, day, source)
);

CREATE TABLE source_state (
	name VARCHAR(200) NOT NULL, 
	cursor JSON NOT NULL, 
	last_success_at DATETIME, 
	last_error_at DATETIME, 
	last_error VARCHAR, 
	consecutive_failures INTEGER NOT NULL, 
	circuit_open_until DATETIME, 
	items_day DATE, 
	items_today INTEGER NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE ingest_warnings (
	id INTEGER NOT NULL, 
	source VARCHAR(200) NOT NULL, 
	reason VARCHAR(200) NOT NULL, 
	detail VARCHAR NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_ingest_warnings_at ON ingest_warnings (at);

CREATE TABLE signals (
	asset VARCHAR(12) NOT NULL, 
	ts DATETIME NOT NULL, 
	horizon VARCHAR(8) NOT NULL, 
	model_version VARCHAR(120) NOT NULL, 
	prob_up FLOAT NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	features_asof DATETIME NOT NULL, 
	PRIMARY KEY (asset, ts, horizon, model_version)
);

CREATE TABLE subscriptions (
	id INTEGER NOT NULL, 
	asset VARCHAR(12) NOT NULL, 
	freq VARCHAR(4) NOT NULL, 
	webhook_url VARCHAR(2000) NOT NULL, 
	secret VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	active BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE briefings (
	day DATE NOT NULL, 
	created_at DATETIME NOT NULL, 
	body JSON NOT NULL, 
	PRIMARY KEY (day)
);

CREATE TABLE document_sources (
	document_id VARCHAR(36) NOT NULL, 
	source VARCHAR(200) NOT NULL, 
	url VARCHAR(2000), 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (document_id, source), 
	FOREIGN KEY(document_id) REFERENCES documents (id)
);

CREATE TABLE document_assets (
	document_id VARCHAR(36) NOT NULL, 
	asset VARCHAR(12) NOT NULL, 
	PRIMARY KEY (document_id, asset), 
	FOREIGN KEY(document_id) REFERENCES documents (id)
);

CREATE INDEX ix_document_assets_asset ON document_assets (asset);

CREATE TABLE sentiment_scores (
	document_id VARCHAR(36) NOT NULL, 
	model_version VARCHAR(120) NOT NULL, 
	label VARCHAR(8) NOT NULL, 
	p_negative FLOAT NOT NULL, 
	p_neutral FLOAT NOT NULL, 
	p_positive FLOAT NOT NULL, 
	score FLOAT NOT NULL, 
	scored_at DATETIME NOT NULL, 
	PRIMARY KEY (document_id, model_version), 
	FOREIGN KEY(document_id) REFERENCES documents (id)
);

CREATE INDEX ix_sentiment_scores_version_scored_at ON sentiment_scores (model_version, scored_at);
