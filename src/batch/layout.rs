//! The national messages a dataset's batches are: the transaction (`infno`), the `input` node
//! holding the records, and the node's own fields, mandatory ones marked — copied from
//! `../shared/reference/nhsa_interface_fields.md` (docs/BATCH.md "The message layout"). A record
//! in a batch carries exactly the fields of its node that it has; the fields it was checked on
//! but the node does not take (the warehouse's, the full 4101's, the envelope's) stay out.
//!
//! The envelope of every transaction names one institution (`fixmedins_code`): records of two
//! institutions never share a message.

use serde::{Deserialize, Serialize};

use crate::rules::{Rule, RuleKind, Severity};
use crate::workspace::{CodeField, Dataset, DatasetKind};

/// The national transaction a dataset's batches follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// 交易编号, when the kind has a national upload transaction.
    pub infno: Option<&'static str>,
    /// The node of `input` the records go in.
    pub node: &'static str,
    /// The node's fields, in the order of the interface list; `*` marks a mandatory one.
    #[serde(skip)]
    fields: &'static str,
    /// Fields yibao adds to the node (not in the interface list), with the reason in docs/BATCH.md.
    #[serde(skip)]
    links: &'static [&'static str],
}

/// 2301 住院费用明细信息上传 `feedetail` (interface fields, "2301"; `Y` there is `*` here).
const FEEDETAIL: &str = "feedetl_sn* init_feedetl_sn mdtrt_id* drord_no psn_no* med_type*
    fee_ocur_time* med_list_codg* medins_list_codg* det_item_fee_sumamt* cnt* pric*
    bilg_dept_codg* bilg_dept_name* bilg_dr_codg* bilg_dr_name* acord_dept_codg acord_dept_name
    orders_dr_code orders_dr_name hosp_appr_flag tcmdrug_used_way etip_flag etip_hosp_code
    dscg_tkdrug_flag matn_fee_flag memo";

/// 4101A `setlinfo` (interface fields, "4101A"). The list marks nothing mandatory; the A version
/// has the platform fill money and identities from its own settlement, which it finds by the
/// three identifiers, so those are.
const SETLINFO_A: &str = "psn_no* mdtrt_id* setl_id* hi_no medcasno dcla_time ntly prfs curr_addr
    emp_name emp_addr emp_tel poscode coner_name patn_rlts coner_addr coner_tel nwb_adm_type
    nwb_bir_wt nwb_adm_wt mul_nwb_bir_wt mul_nwb_adm_wt opsp_diag_caty opsp_mdtrt_date adm_way
    trt_type adm_time refldept_dept dscg_time dscg_caty otp_wm_dise wm_dise_code otp_tcm_dise
    tcm_dise_code vent_used_dura pwcry_bfadm_coma_dura pwcry_afadm_coma_dura spga_nurscare_days
    lv1_nurscare_days scd_nurscare_days lv3_nurscare_days dscg_way acp_medins_name
    acp_optins_code bill_code bill_no biz_sn days_rinp_flag_31 days_rinp_pup_31 chfpdr_code
    setl_begn_date setl_end_date medins_fill_dept medins_fill_psn resp_nurs_code stas_type
    hi_paymtd";

/// 4101 `diseinfo` (and the vendor's `tcm_dise_flag`, interface fields "4101A").
const DISEINFO: &str = "diag_type diag_code* diag_name adm_cond_type maindiag_flag tcm_dise_flag";

/// 4101A `oprninfo`.
const OPRNINFO_A: &str = "oprn_oprt_type oprn_oprt_name oprn_oprt_code* anst_way oper_dr_code
    anst_dr_code oprn_oprt_begntime oprn_oprt_endtime anst_begntime anst_endtime";

/// 3301 目录对照上传 `data`.
const CATALOG: &str = "fixmedins_hilist_id* fixmedins_hilist_name* list_type* med_list_codg
    begndate* enddate* aprvno dosform exct_cont item_cont prcunt spec pacspec memo";

/// The envelope field naming the institution of a message's records.
pub const INSTITUTION_FIELD: &str = "fixmedins_code";
/// The envelope field naming it in words.
pub const INSTITUTION_NAME_FIELD: &str = "fixmedins_name";

impl Layout {
    /// The layout of a dataset kind: 2301 `feedetail` for fee lines; 4101A `setlinfo`,
    /// `diseinfo`, `oprninfo` for the settlement list and its diagnoses and procedures; 3301
    /// `data` for catalog items (目录对照). Institutions, departments and practitioners are
    /// dictionaries without an upload transaction here: their batches keep the kind's fields.
    pub fn of(kind: DatasetKind) -> Layout {
        let (infno, node, fields, links): (_, _, _, &'static [&'static str]) = match kind {
            DatasetKind::FeeDetail => (Some("2301"), "feedetail", FEEDETAIL, &[]),
            DatasetKind::Settlement => (Some("4101A"), "setlinfo", SETLINFO_A, &[]),
            DatasetKind::Diagnosis => (Some("4101A"), "diseinfo", DISEINFO, &["setl_id"]),
            DatasetKind::Operation => (Some("4101A"), "oprninfo", OPRNINFO_A, &["setl_id"]),
            DatasetKind::DrugCatalog
            | DatasetKind::ServiceCatalog
            | DatasetKind::ConsumableCatalog => (Some("3301"), "data", CATALOG, &[]),
            DatasetKind::Institution | DatasetKind::Department | DatasetKind::Practitioner => {
                (None, "data", "", &[])
            }
        };
        Layout {
            infno,
            node,
            fields,
            links,
        }
    }

    /// Whether the records carry the node's fields only (false: no national node, the kind's
    /// fields are kept).
    pub fn is_national(&self) -> bool {
        !self.fields.is_empty()
    }

    /// The fields a record of `kind` carries in this node, in order: the node's, then the
    /// links yibao adds; for a kind without a node, the kind's own fields but the institution.
    pub fn fields(&self, kind: DatasetKind) -> Vec<&'static str> {
        if !self.is_national() {
            return kind.fields().filter(|f| *f != INSTITUTION_FIELD).collect();
        }
        self.fields
            .split_whitespace()
            .map(|f| f.trim_end_matches('*'))
            .chain(self.links.iter().copied())
            .collect()
    }

    /// The node's mandatory fields (and the links, which a record cannot be placed without).
    pub fn mandatory(&self) -> Vec<&'static str> {
        self.fields
            .split_whitespace()
            .filter_map(|f| f.strip_suffix('*'))
            .chain(self.links.iter().copied())
            .collect()
    }
}

/// What keeps a dataset from being batched as its node: mandatory fields it does not have (not
/// mapped, not filled), and mandatory fields no rule that runs makes a record dirty without
/// (an error-level `required` rule on the field, or a `mapped` rule on the local code whose
/// national code goes there, for every record of the kind). `None`: every record counted
/// clean holds every mandatory field.
pub fn incomplete(
    ds: &Dataset,
    columns: &[String],
    rules: &[Rule],
) -> Option<(Vec<&'static str>, Vec<&'static str>)> {
    let layout = Layout::of(ds.kind);
    let mandatory = layout.mandatory();
    let missing: Vec<&'static str> = mandatory
        .iter()
        .copied()
        .filter(|f| !columns.iter().any(|c| c == f))
        .collect();
    let guarded = |field: &str| {
        rules.iter().any(|r| {
            r.severity == Severity::Error
                && r.when.is_none()
                && r.datasets.contains(&ds.kind)
                && match &r.kind {
                    RuleKind::Required { fields } => fields.iter().any(|f| f == field),
                    RuleKind::Mapped { field: local } => CodeField::national_field(local) == field,
                    _ => false,
                }
        })
    };
    let unguarded: Vec<&'static str> = mandatory
        .iter()
        .copied()
        .filter(|f| !missing.contains(f) && !guarded(f))
        .collect();
    (!missing.is_empty() || !unguarded.is_empty()).then_some((missing, unguarded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_field_is_a_field_of_its_kind() {
        for kind in DatasetKind::ALL {
            let layout = Layout::of(kind);
            for f in layout.fields(kind) {
                assert!(
                    kind.allows(f),
                    "{kind}: {f} is in the node but not a field of the kind"
                );
            }
        }
    }

    #[test]
    fn the_fee_line_node_needs_its_names() {
        let m = Layout::of(DatasetKind::FeeDetail).mandatory();
        for f in [
            "med_type",
            "bilg_dept_name",
            "bilg_dr_name",
            "psn_no",
            "med_list_codg",
        ] {
            assert!(m.contains(&f), "{f}");
        }
        let fields = Layout::of(DatasetKind::FeeDetail).fields(DatasetKind::FeeDetail);
        for f in ["setl_id", "fixmedins_code", "medins_list_name"] {
            assert!(!fields.contains(&f), "{f} is not a field of 2301 feedetail");
        }
    }
}
