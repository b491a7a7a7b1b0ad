//! Dataset kinds and the canonical fields each may carry: the national interface field names of
//! `../shared/reference/nhsa_interface_fields.md` (SETL_D / 4101 setlinfo, FEE_LIST_D / 2301,
//! SETL_LIST_DIAG_D, SETL_LIST_OPRN_D, 3301 目录对照, institution attributes).
//!
//! A source column is mapped onto one of these names in yibao.toml; a name not listed is a typo
//! (answered with "did you mean") unless it starts with `x_`, the prefix for local extras.

use std::fmt;

use serde::Serialize;

use crate::codes::Kind;

/// What a dataset holds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// 结算清单 / 结算信息: one record per settlement.
    Settlement,
    /// 费用明细: one record per fee line.
    FeeDetail,
    /// 结算清单诊断: one record per diagnosis of a settlement.
    Diagnosis,
    /// 结算清单手术操作: one record per procedure of a settlement.
    Operation,
    /// 医药机构药品目录.
    DrugCatalog,
    /// 医药机构医疗服务项目目录.
    ServiceCatalog,
    /// 医药机构医用耗材目录.
    ConsumableCatalog,
    /// 两定机构.
    Institution,
    /// 医药机构科室 (3401 科室信息上传 `deptinfo`): a hospital's department dictionary.
    Department,
    /// 医药机构执业人员 (5102 医执人员信息查询): a hospital's doctors, nurses and pharmacists.
    Practitioner,
}

impl DatasetKind {
    /// Every kind, as listed to users.
    pub const ALL: [DatasetKind; 10] = [
        DatasetKind::Settlement,
        DatasetKind::FeeDetail,
        DatasetKind::Diagnosis,
        DatasetKind::Operation,
        DatasetKind::DrugCatalog,
        DatasetKind::ServiceCatalog,
        DatasetKind::ConsumableCatalog,
        DatasetKind::Institution,
        DatasetKind::Department,
        DatasetKind::Practitioner,
    ];

    /// The name used in yibao.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Settlement => "settlement",
            DatasetKind::FeeDetail => "fee-detail",
            DatasetKind::Diagnosis => "diagnosis",
            DatasetKind::Operation => "operation",
            DatasetKind::DrugCatalog => "drug-catalog",
            DatasetKind::ServiceCatalog => "service-catalog",
            DatasetKind::ConsumableCatalog => "consumable-catalog",
            DatasetKind::Institution => "institution",
            DatasetKind::Department => "department",
            DatasetKind::Practitioner => "practitioner",
        }
    }

    /// Parse the yibao.toml name.
    pub fn parse(s: &str) -> Option<DatasetKind> {
        DatasetKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The canonical fields of this kind.
    pub fn fields(self) -> impl Iterator<Item = &'static str> {
        let list = match self {
            DatasetKind::Settlement => SETTLEMENT,
            DatasetKind::FeeDetail => FEE_DETAIL,
            DatasetKind::Diagnosis => DIAGNOSIS,
            DatasetKind::Operation => OPERATION,
            DatasetKind::DrugCatalog
            | DatasetKind::ServiceCatalog
            | DatasetKind::ConsumableCatalog => CATALOG,
            DatasetKind::Institution => INSTITUTION,
            DatasetKind::Department => DEPARTMENT,
            DatasetKind::Practitioner => PRACTITIONER,
        };
        list.split_whitespace()
    }

    /// True when `field` is a canonical field of this kind or a local extra (`x_…`).
    pub fn allows(self, field: &str) -> bool {
        field.starts_with("x_") || self.fields().any(|f| f == field)
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value type of a canonical field, derived from the national naming conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    /// Free text or a value-set code.
    Text,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// A date and time (`YYYY-MM-DD HH:MM:SS`).
    DateTime,
    /// Money, two decimals.
    Amount,
    /// A quantity.
    Number,
    /// A national code or identifier of a known kind.
    Code(Kind),
    /// A national code whose family depends on the record (医疗目录编码: drug, service or consumable).
    CatalogCode,
}

/// The type of a canonical field.
pub fn field_type(field: &str) -> FieldType {
    let code = |k| FieldType::Code(k);
    match field {
        "diag_code" | "wm_dise_code" | "dscg_maindiag_code" | "dise_codg" => code(Kind::Diagnosis),
        "oprn_oprt_code" => code(Kind::Procedure),
        "med_list_codg" | "hilist_code" => FieldType::CatalogCode,
        "fixmedins_code" | "acp_optins_code" | "etip_hosp_code" => code(Kind::Institution),
        "certno" | "mdtrt_cert_no" => code(Kind::ResidentId),
        "uscc" => code(Kind::CreditCode),
        "chfpdr_code" | "bilg_dr_codg" | "bilg_dr_code" | "orders_dr_code" | "acord_dr_code"
        | "oper_dr_code" | "anst_dr_code" => code(Kind::Doctor),
        "resp_nurs_code" => code(Kind::Nurse),
        "insu_admdvs" | "insuplc" | "insuplc_admdvs" | "mdtrtarea_admvs" | "fix_blng_admdvs"
        | "admdvs" | "poolarea_no" => code(Kind::AdminArea),
        "aprvno" => code(Kind::ApprovalNumber),
        "drug_std_code" => code(Kind::DrugStandardCode),
        "brdy" | "begndate" | "enddate" | "setl_begn_date" | "setl_end_date"
        | "opsp_mdtrt_date" | "oprn_oprt_date" | "die_date" | "dcla_time" | "dept_estbdat" => {
            FieldType::Date
        }
        "cnt" | "pric" | "act_ipt_days" | "age" | "nwb_age" | "nwb_bir_wt" | "nwb_adm_wt"
        | "bld_amt" | "aprv_bed_cnt" | "hi_crtf_bed_cnt" | "dr_psncnt" | "phar_psncnt"
        | "nurs_psncnt" | "tecn_psncnt" => FieldType::Number,
        f if f.ends_with("_time") || f.ends_with("begntime") || f.ends_with("endtime") => {
            FieldType::DateTime
        }
        f if f.ends_with("_amt")
            || f.ends_with("sumamt")
            || f.ends_with("_pay")
            || f.ends_with("payamt")
            || f.ends_with("_sumfee")
            || f.ends_with("_selfpay")
            || f == "balc"
            || f == "amt"
            || f == "psn_ownpay"
            || f == "psn_cashpay" =>
        {
            FieldType::Amount
        }
        _ => FieldType::Text,
    }
}

/// Fields of a settlement (SETL_D and 4101 setlinfo).
const SETTLEMENT: &str = "setl_id mdtrt_id init_setl_id medins_setl_id psn_no psn_name psn_cert_type certno gend naty brdy age
    ntly nwb_age insutype psn_type sp_psn_type insu_admdvs insuplc emp_no emp_name fixmedins_code fixmedins_name
    hosp_lv hi_setl_lv hi_no medcasno dcla_time prfs curr_addr emp_addr emp_tel poscode coner_name patn_rlts coner_addr
    coner_tel hi_type nwb_adm_type nwb_bir_wt nwb_adm_wt mul_nwb_bir_wt mul_nwb_adm_wt opsp_diag_caty opsp_mdtrt_date
    ipt_med_type adm_way trt_type adm_time adm_caty refldept_dept dscg_time dscg_caty act_ipt_days otp_wm_dise
    wm_dise_code otp_tcm_dise tcm_dise_code diag_code_cnt oprn_oprt_code_cnt vent_used_dura pwcry_bfadm_coma_dura
    pwcry_afadm_coma_dura bld_cat bld_amt bld_unt spga_nurscare_days lv1_nurscare_days scd_nurscare_days
    lv3_nurscare_days dscg_way acp_medins_name acp_optins_code bill_code bill_no biz_sn days_rinp_flag_31
    days_rinp_pup_31 chfpdr_name chfpdr_code resp_nurs_code setl_begn_date setl_end_date setl_time begndate enddate
    med_type setl_type clr_type clr_way psn_setlway medfee_sumamt fulamt_ownpay_amt overlmt_selfpay preselfpay_amt
    inscp_amt hifp_pay pool_prop_selfpay cvlserv_pay hifes_pay hifmi_pay hifob_pay maf_pay othfund_pay fund_pay_sumamt
    psn_pay psn_selfpay psn_ownpay acct_pay psn_cashpay cash_payamt balc refd_setl_flag vali_flag hi_paymtd hsorg
    hsorg_opter medins_fill_dept medins_fill_psn stas_type dise_no dise_name mdtrtarea_admvs
    dscg_maindiag_code dscg_maindiag_name";

/// Fields of a fee line (FEE_LIST_D and 2301/2204 feedetail).
const FEE_DETAIL: &str = "feedetl_sn init_feedetl_sn bkkp_sn mdtrt_id setl_id drord_no rx_drord_no rxno psn_no med_type
    fee_ocur_time med_list_codg medins_list_codg medins_list_name hilist_code hilist_name list_type med_chrgitm_type
    det_item_fee_sumamt cnt pric pric_uplmt_amt selfpay_prop fulamt_ownpay_amt overlmt_selfpay preselfpay_amt
    inscp_amt chrgitm_lv prodname spec dosform_name bilg_dept_codg bilg_dept_name bilg_dr_codg bilg_dr_name
    acord_dept_codg acord_dept_name orders_dr_code orders_dr_name hosp_appr_flag tcmdrug_used_way etip_flag
    etip_hosp_code dscg_tkdrug_flag matn_fee_flag fixmedins_code fixmedins_name insu_admdvs memo vali_flag
    oprn_oprt_code dise_codg";

/// Fields of a settlement diagnosis (SETL_LIST_DIAG_D and 4101 diseinfo).
const DIAGNOSIS: &str =
    "setl_list_diag_id setl_id mdtrt_id psn_no diag_type maindiag_flag diag_code diag_name
    adm_cond_type tcm_dise_flag vali_flag fixmedins_code";

/// Fields of a settlement procedure (SETL_LIST_OPRN_D and 4101 oprninfo).
const OPERATION: &str = "setl_id psn_no mdtrt_id main_oprn_flag oprn_oprt_type oprn_oprt_name oprn_oprt_code
    oprn_oprt_date anst_way oper_dr_name oper_dr_code anst_dr_name anst_dr_code oprn_oprt_begntime oprn_oprt_endtime
    anst_begntime anst_endtime fixmedins_code";

/// Fields of a hospital's catalog item (3301 目录对照 and the 1301/1302 catalog columns).
const CATALOG: &str = "fixmedins_hilist_id fixmedins_hilist_name list_type med_list_codg begndate enddate aprvno
    dosform exct_cont item_cont prcunt spec pacspec memo prodname manufacturer drug_std_code reg_no pric
    fixmedins_code";

/// Fields of a hospital department: 3401 科室信息上传 `deptinfo` (field list as public HIS code
/// carries it; docs/WORKSPACE.md), and the institution it belongs to.
const DEPARTMENT: &str = "hosp_dept_codg caty hosp_dept_name begntime endtime itro dept_resper_name
    dept_resper_tel dept_med_serv_scp dept_estbdat aprv_bed_cnt hi_crtf_bed_cnt poolarea_no dr_psncnt
    phar_psncnt nurs_psncnt tecn_psncnt memo fixmedins_code";

/// Fields of a hospital practitioner: the output of 5102 医执人员信息查询 (执业人员代码 is the
/// national 医保医师/护士/药师 code), the institution and the department.
const PRACTITIONER: &str =
    "prac_psn_code prac_psn_name prac_psn_type psn_cert_type certno prac_psn_no
    prac_psn_cert prac_cert_no fixmedins_code hosp_dept_codg";

/// Fields of a designated institution.
const INSTITUTION: &str =
    "fixmedins_code fixmedins_name fixmedins_type hosp_lv uscc admdvs addr begndate enddate
    vali_flag";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in DatasetKind::ALL {
            assert_eq!(DatasetKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn types_follow_national_naming() {
        assert_eq!(field_type("fee_ocur_time"), FieldType::DateTime);
        assert_eq!(field_type("oprn_oprt_begntime"), FieldType::DateTime);
        assert_eq!(field_type("brdy"), FieldType::Date);
        assert_eq!(field_type("medfee_sumamt"), FieldType::Amount);
        assert_eq!(field_type("det_item_fee_sumamt"), FieldType::Amount);
        assert_eq!(field_type("acct_pay"), FieldType::Amount);
        assert_eq!(field_type("diag_code"), FieldType::Code(Kind::Diagnosis));
        assert_eq!(field_type("med_list_codg"), FieldType::CatalogCode);
        assert_eq!(field_type("psn_name"), FieldType::Text);
    }

    #[test]
    fn extras_need_the_prefix() {
        assert!(DatasetKind::FeeDetail.allows("cnt"));
        assert!(DatasetKind::FeeDetail.allows("x_local_flag"));
        assert!(!DatasetKind::FeeDetail.allows("cnnt"));
    }
}
