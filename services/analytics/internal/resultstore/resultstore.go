// Package resultstore keeps the analytics service's fusions in SQL (tables
// analytics_results, analytics_labels and analytics_tenants of migration
// 00022): the latest fusion of each video with the versions that produced
// it, and the per-tenant aggregates derived from them.
package resultstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	analyticsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/analytics/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	"github.com/clipmesh/clipmesh/platform/store"
)

// ErrNotFound is returned when a video has no stored fusion.
var ErrNotFound = errors.New("no stored analytics")

// The label kinds of analytics_labels.
const (
	KindTopic   = "topic"
	KindEmotion = "emotion"
)

// Record is one stored fusion.
type Record struct {
	Tenant, VideoID, JobID string
	// FusionVersion and WeightsHash say which fusion code and weights ran.
	FusionVersion, WeightsHash string
	// Producers are the modality producers fused.
	Producers []*commonv1.Producer
	// DurationSeconds and AvgEngagement feed the tenant aggregates.
	DurationSeconds, AvgEngagement float64
	// DominantEmotion is the detailed emotions' dominant, "" when none.
	DominantEmotion string
	// Topics are the topic mentions.
	Topics   []*analyticsv1.TopicShare
	Fused    *analyticsv1.FuseResponse
	Detailed *analyticsv1.GetDetailedResponse
	// CreatedAt is when the fusion was stored (set by Put when zero).
	CreatedAt time.Time
}

// Stats are a tenant's aggregates.
type Stats struct {
	Videos        int64
	Seconds       float64
	AvgEngagement float64
	Fusions       int64
	TopTopics     []Label
	TopEmotions   []Label
}

// Label is a topic or emotion and how often it was found.
type Label struct {
	Label string
	Count int64
}

// Store reads and writes fusions.
type Store struct {
	db *store.DB
}

// New returns a Store on db (migrated).
func New(db *store.DB) *Store { return &Store{db: db} }

var (
	marshal   = protojson.MarshalOptions{}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// Put stores r as the video's latest fusion, replacing any earlier one,
// and counts a fusion for the tenant, in one transaction.
func (s *Store) Put(ctx context.Context, r Record) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	fused, err := marshal.Marshal(r.Fused)
	if err != nil {
		return fmt.Errorf("resultstore: put %s: %w", r.VideoID, err)
	}
	detailed, err := marshal.Marshal(r.Detailed)
	if err != nil {
		return fmt.Errorf("resultstore: put %s: %w", r.VideoID, err)
	}
	producers, err := marshalProducers(r.Producers)
	if err != nil {
		return fmt.Errorf("resultstore: put %s: %w", r.VideoID, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("resultstore: put %s: %w", r.VideoID, err)
	}
	defer func() { _ = tx.Rollback() }()
	now := r.CreatedAt.UnixNano()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO analytics_results (tenant, video_id, job_id, fusion_version, weights_hash, producers_json,
			duration_seconds, avg_engagement, dominant_emotion, fused_json, detailed_json, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (tenant, video_id) DO UPDATE SET
			job_id = excluded.job_id, fusion_version = excluded.fusion_version,
			weights_hash = excluded.weights_hash, producers_json = excluded.producers_json,
			duration_seconds = excluded.duration_seconds, avg_engagement = excluded.avg_engagement,
			dominant_emotion = excluded.dominant_emotion, fused_json = excluded.fused_json,
			detailed_json = excluded.detailed_json, created_at = excluded.created_at`,
		r.Tenant, r.VideoID, r.JobID, r.FusionVersion, r.WeightsHash, string(producers),
		r.DurationSeconds, r.AvgEngagement, r.DominantEmotion, string(fused), string(detailed), now); err != nil {
		return fmt.Errorf("resultstore: put %s: %w", r.VideoID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM analytics_labels WHERE tenant = $1 AND video_id = $2`, r.Tenant, r.VideoID); err != nil {
		return fmt.Errorf("resultstore: put %s labels: %w", r.VideoID, err)
	}
	labels := map[[2]string]int64{}
	for _, t := range r.Topics {
		if t.GetTopic() != "" {
			labels[[2]string{KindTopic, t.GetTopic()}] += int64(t.GetMentions())
		}
	}
	if r.DominantEmotion != "" {
		labels[[2]string{KindEmotion, r.DominantEmotion}]++
	}
	for k, n := range labels {
		if _, err := tx.ExecContext(ctx, `INSERT INTO analytics_labels (tenant, video_id, kind, label, mentions) VALUES ($1, $2, $3, $4, $5)`,
			r.Tenant, r.VideoID, k[0], k[1], n); err != nil {
			return fmt.Errorf("resultstore: put %s labels: %w", r.VideoID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO analytics_tenants (tenant, fusions, updated_at) VALUES ($1, 1, $2)
		ON CONFLICT (tenant) DO UPDATE SET fusions = analytics_tenants.fusions + 1, updated_at = excluded.updated_at`,
		r.Tenant, now); err != nil {
		return fmt.Errorf("resultstore: put %s: count fusion: %w", r.VideoID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("resultstore: put %s: %w", r.VideoID, err)
	}
	return nil
}

func marshalProducers(ps []*commonv1.Producer) ([]byte, error) {
	// A ModalityStatus list would be a message of its own; the producers
	// are stored as a JSON array of protojson objects.
	out := []byte{'['}
	for i, p := range ps {
		b, err := marshal.Marshal(p)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	return append(out, ']'), nil
}

// Get returns the video's stored fusion, ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, tenant, videoID string) (Record, error) {
	r := Record{Tenant: tenant, VideoID: videoID}
	var fused, detailed, producers string
	var created int64
	err := s.db.QueryRowContext(ctx, `
		SELECT job_id, fusion_version, weights_hash, producers_json, duration_seconds, avg_engagement,
			dominant_emotion, fused_json, detailed_json, created_at
		FROM analytics_results WHERE tenant = $1 AND video_id = $2`, tenant, videoID).
		Scan(&r.JobID, &r.FusionVersion, &r.WeightsHash, &producers, &r.DurationSeconds, &r.AvgEngagement,
			&r.DominantEmotion, &fused, &detailed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("resultstore: %s: %w", videoID, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("resultstore: get %s: %w", videoID, err)
	}
	r.CreatedAt = time.Unix(0, created)
	r.Fused, r.Detailed = &analyticsv1.FuseResponse{}, &analyticsv1.GetDetailedResponse{}
	if err := unmarshal.Unmarshal([]byte(fused), r.Fused); err != nil {
		return Record{}, fmt.Errorf("resultstore: get %s: fused: %w", videoID, err)
	}
	if err := unmarshal.Unmarshal([]byte(detailed), r.Detailed); err != nil {
		return Record{}, fmt.Errorf("resultstore: get %s: detailed: %w", videoID, err)
	}
	// The producers column is for SQL readers; the same producers are in
	// the fused result's inputs.
	for _, m := range r.Fused.GetInputs() {
		if p := m.GetProducer(); p != nil {
			r.Producers = append(r.Producers, p)
		}
	}
	r.Topics = r.Detailed.GetTopics()
	return r, nil
}

// TenantStats returns a tenant's aggregates with at most topN topics and
// emotions.
func (s *Store) TenantStats(ctx context.Context, tenant string, topN int) (Stats, error) {
	var st Stats
	err := s.db.QueryRowContext(ctx, `
		SELECT COUNT(*), COALESCE(SUM(duration_seconds), 0), COALESCE(AVG(avg_engagement), 0)
		FROM analytics_results WHERE tenant = $1`, tenant).Scan(&st.Videos, &st.Seconds, &st.AvgEngagement)
	if err != nil {
		return Stats{}, fmt.Errorf("resultstore: stats of %s: %w", tenant, err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT fusions FROM analytics_tenants WHERE tenant = $1`, tenant).Scan(&st.Fusions)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Stats{}, fmt.Errorf("resultstore: stats of %s: %w", tenant, err)
	}
	if st.TopTopics, err = s.top(ctx, tenant, KindTopic, topN); err != nil {
		return Stats{}, err
	}
	if st.TopEmotions, err = s.top(ctx, tenant, KindEmotion, topN); err != nil {
		return Stats{}, err
	}
	return st, nil
}

func (s *Store) top(ctx context.Context, tenant, kind string, n int) ([]Label, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT label, SUM(mentions) AS n FROM analytics_labels WHERE tenant = $1 AND kind = $2
		GROUP BY label ORDER BY n DESC, label LIMIT $3`, tenant, kind, n)
	if err != nil {
		return nil, fmt.Errorf("resultstore: top %ss of %s: %w", kind, tenant, err)
	}
	defer rows.Close()
	var out []Label
	for rows.Next() {
		var l Label
		if err := rows.Scan(&l.Label, &l.Count); err != nil {
			return nil, fmt.Errorf("resultstore: top %ss of %s: %w", kind, tenant, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resultstore: top %ss of %s: %w", kind, tenant, err)
	}
	return out, nil
}

// Tenants returns every tenant with a stored fusion or a counted one.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT tenant FROM analytics_tenants UNION SELECT DISTINCT tenant FROM analytics_results ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("resultstore: tenants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("resultstore: tenants: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resultstore: tenants: %w", err)
	}
	return out, nil
}
