package jobstore

import (
	"context"
	"fmt"
	"time"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	jobsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/jobs/v1"
)

// StageRecord is one finished stage of a job as stored in job_stages: its
// outcome and, when it produced one, its result (protojson of the stage's
// result message).
type StageRecord struct {
	Stage    string
	State    jobsv1.StageState
	Modality commonv1.ModalityState
	Reason   string
	Result   []byte
}

// SaveStage stores (or replaces) a stage's outcome, so a job run again
// after a lost worker or a retry starts after it.
func (s *Store) SaveStage(ctx context.Context, tenant, jobID string, r StageRecord) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO job_stages (tenant, job_id, stage, state, modality_state, reason, result_json, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant, job_id, stage) DO UPDATE SET state = excluded.state, modality_state = excluded.modality_state,
			reason = excluded.reason, result_json = excluded.result_json, updated_at = excluded.updated_at`,
		tenant, jobID, r.Stage, int(r.State), int(r.Modality), r.Reason, string(r.Result), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("jobstore: save stage %s of %s: %w", r.Stage, jobID, err)
	}
	return nil
}

// Stages returns the stored stages of a job by name.
func (s *Store) Stages(ctx context.Context, tenant, jobID string) (map[string]StageRecord, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT stage, state, modality_state, reason, result_json FROM job_stages
		WHERE tenant = $1 AND job_id = $2`, tenant, jobID)
	if err != nil {
		return nil, fmt.Errorf("jobstore: stages of %s: %w", jobID, err)
	}
	defer rows.Close()
	out := map[string]StageRecord{}
	for rows.Next() {
		var r StageRecord
		var state, mod int
		var res string
		if err := rows.Scan(&r.Stage, &state, &mod, &r.Reason, &res); err != nil {
			return nil, fmt.Errorf("jobstore: stages of %s: %w", jobID, err)
		}
		r.State, r.Modality, r.Result = jobsv1.StageState(state), commonv1.ModalityState(mod), []byte(res)
		out[r.Stage] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobstore: stages of %s: %w", jobID, err)
	}
	return out, nil
}
